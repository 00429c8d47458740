// Settings of the TURN server core (`tern relay`), with the defaults docs/relay.md
// explains, and their validation: validate() names the setting at fault and the fix.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/ip.hpp"
#include "base/result.hpp"
#include "base/time.hpp"
#include "relay/rate_limit.hpp"

namespace tern::relay {

struct StaticUser {
  std::string name;
  std::string password;
};

// RFC 5780 behaviour discovery: the server listens on both IPs x both ports
// (four sockets, opened by the I/O layer) and answers CHANGE-REQUEST from the
// other IP and/or port. IPs and ports must both differ.
struct BehaviorDiscovery {
  Endpoint primary;    // e.g. 192.0.2.1:3478
  Endpoint alternate;  // e.g. 192.0.2.2:3479
};

struct RelayConfig {
  std::string realm = "tern";
  std::vector<StaticUser> users;
  // TURN REST API secrets (coturn's static-auth-secret): credentials made with
  // any of them are accepted, so a secret can be rotated without a cut.
  std::vector<std::string> shared_secrets;
  std::string software = "tern";  // SOFTWARE in responses; empty: none

  Duration nonce_lifetime = std::chrono::minutes(10);
  Duration default_lifetime = std::chrono::seconds(600);  // RFC 8656 §7.2
  Duration max_lifetime = std::chrono::seconds(3600);

  uint32_t max_allocations = 4096;  // in total (486 beyond)
  uint32_t user_quota = 16;         // per user (486 beyond); 0: only the total applies
  uint32_t max_permissions = 64;    // per allocation (508 beyond)
  uint32_t max_channels = 64;       // per allocation (508 beyond)
  RateLimit rate_limit;             // per allocation and direction; unlimited by default

  bool relay_ipv4 = true;  // families of relayed addresses offered (440 for the others)
  bool relay_ipv6 = true;
  std::vector<IpPrefix> allowed_peers;  // re-permitted despite peer_policy.hpp's classes
  std::vector<IpPrefix> denied_peers;   // refused besides them (the relay's own addresses, say)

  std::optional<BehaviorDiscovery> discovery;
};

[[nodiscard]] Status validate(const RelayConfig& config);

}  // namespace tern::relay

// What `tern status` shows: a snapshot of one interface and its peers, with
// traffic and drop counters by reason. The agent fills it; the CLI prints it
// as a table or as JSON (the JSON field names are a stable interface for scripts).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "base/drop_reason.hpp"
#include "base/ip.hpp"
#include "base/time.hpp"

namespace tern::agent {

struct TrafficCounters {
  uint64_t rx_bytes = 0;
  uint64_t tx_bytes = 0;
  uint64_t rx_packets = 0;
  uint64_t tx_packets = 0;
};

struct PeerStatus {
  std::string public_key;  // base64
  std::optional<Endpoint> endpoint;
  std::optional<WallTime> last_handshake;
  TrafficCounters traffic;
  uint16_t persistent_keepalive = 0;
  std::vector<IpPrefix> allowed_ips;
  DropCounters drops;
};

struct InterfaceStatus {
  std::string name;
  std::string public_key;  // base64
  uint16_t listen_port = 0;
  uint32_t mtu = 0;
  TrafficCounters totals;
  DropCounters drops;  // interface-wide: includes drops that belong to no peer
  std::vector<PeerStatus> peers;
};

nlohmann::json to_json(const InterfaceStatus& s);
InterfaceStatus status_from_json(const nlohmann::json& j);  // throws nlohmann::json::exception
// A human table; `now` makes "last handshake 12 s ago".
std::string format_status(const InterfaceStatus& s, WallTime now);

}  // namespace tern::agent

// The interface configuration `tern up` reads: a wg-quick file, so that an
// operator's existing WireGuard config works unchanged. Keys wg-quick knows but
// tern does not act on are accepted and reported as warnings; every error names
// the file, the line and the fix. docs/config.md is the reference for each key.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/ip.hpp"
#include "base/result.hpp"
#include "crypto/key.hpp"

namespace tern::config {

inline constexpr uint32_t kMinMtu = 576;
inline constexpr uint32_t kMaxMtu = 65535;
inline constexpr size_t kMaxConfigBytes = 1 << 20;

// wg-quick's Table key: where the routes for AllowedIPs go.
struct RouteTable {
  enum class Mode : uint8_t {
    kAuto,   // absent or `auto`: the main table; a /0 goes through policy routing (fwmark)
    kOff,    // `off`: no routes at all
    kFixed,  // a table id or name: every route there, /0 included, and no policy rules
  };
  Mode mode = Mode::kAuto;
  uint32_t id = 0;  // kFixed: 1-4294967295 (`main` is 254, `default` 253, `local` 255)

  bool operator==(const RouteTable&) const = default;
};

struct PeerConfig {
  crypto::Key public_key{};
  std::optional<crypto::Key> preshared_key;
  // As written ("host:port", "[v6]:port"); a host name is resolved by the caller.
  std::optional<std::string> endpoint;
  std::vector<IpPrefix> allowed_ips;  // host bits cleared, as WireGuard routes them
  uint16_t persistent_keepalive = 0;  // seconds; 0 is off
  bool relay = false;                 // Relay = on: reached through the [Relay] allocation
  int line = 0;                       // of the [Peer] header, for messages
};

// [Relay]: a TURN server (RFC 8656) on which the agent keeps an allocation; peers with
// Relay = on are reached through it (docs/config.md).
struct RelayConfig {
  std::string url;   // Url = turn:HOST[:PORT][?transport=udp|tcp] or turns:HOST[:PORT], as written
  std::string host;  // without brackets; for turns: the name the certificate must cover
  uint16_t port = 3478;  // 5349 for turns:
  bool tls = false;      // turns: TURN over TLS over TCP (RFC 7065)
  std::string ca_file;   // CA = /path/ca.pem: trusted instead of the system's CAs (turns:)
  std::string username;  // Username + Password: long-term credentials
  std::string password;
  std::string secret;  // Secret: TURN REST credentials (coturn's use-auth-secret)
  int line = 0;        // of the [Relay] header
};

// [Control]: join a tern control network instead of listing peers (docs/config.md).
struct ControlConfig {
  std::string server;     // Server = https://HOST:PORT
  std::string setup_key;  // SetupKey = tsk_... (needed until the first registration)
  std::string ca_file;    // CA = /path/ca.pem
  std::string state_dir;  // State = /var/lib/tern/IFACE
  std::string name;       // Name = laptop
  int line = 0;           // of the [Control] header
};

struct InterfaceConfig {
  crypto::Key private_key{};
  std::optional<uint16_t> listen_port;  // none: a random port
  std::vector<IpPrefix> addresses;      // host bits kept: 10.0.0.1/24 is address and subnet
  std::optional<uint32_t> mtu;          // none: the agent chooses
  RouteTable table;                     // Table
  uint32_t fwmark = 0;                  // FwMark: the mark on the UDP socket's packets; 0 is off
  std::vector<PeerConfig> peers;
  // "line N: ..." for keys accepted but not applied, and for doubtful values.
  std::vector<std::string> warnings;

  // tern's own keys (not wg-quick's); see docs/config.md.
  bool path_mtu_discovery = true;  // PathMtuDiscovery = on | off
  bool mss_clamp = true;           // MssClamp = on | off
  // With [Control], PrivateKey is not used (the state directory keeps the key) and [Peer]
  // sections are not allowed: the control server's map is the list of peers.
  std::optional<ControlConfig> control;
  std::optional<RelayConfig> relay;
};

// `file_name` only prefixes messages ("wg0.conf:7: ...").
[[nodiscard]] Result<InterfaceConfig> parse_config(std::string_view text,
                                                   std::string_view file_name);
// Reads and parses a file; also warns when others may read it (it holds a private key).
[[nodiscard]] Result<InterfaceConfig> load_config(const std::string& path);

}  // namespace tern::config

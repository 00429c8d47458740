// `tern relay`'s settings as the command line gives them, and their translation
// into what the relay core and its I/O loop need. Pure: parsing and validation
// only, so every message naming a bad option and its fix is unit-tested.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/ip.hpp"
#include "base/result.hpp"
#include "relay/relay_config.hpp"

namespace tern::relayd {

inline constexpr uint16_t kDefaultStunPort = 3478;
inline constexpr uint16_t kDefaultTlsPort = 5349;
inline constexpr uint32_t kDefaultMaxConnections = 1024;
inline constexpr uint16_t kDefaultRelayPortMin = 49152;
inline constexpr uint16_t kDefaultRelayPortMax = 65535;
inline constexpr uint32_t kMaxThreads = 256;

// The options as typed, before any of them is checked.
struct RawOptions {
  std::vector<std::string> listen;         // ADDR[:PORT], repeatable
  std::vector<std::string> relay_address;  // ADDR, at most one per family
  std::string other_address;               // ADDR (RFC 5780)
  std::string realm = "tern";
  std::vector<std::string> users;    // NAME:PASSWORD
  std::vector<std::string> secrets;  // TURN REST shared secrets
  std::vector<std::string> allow;    // PREFIX
  std::vector<std::string> deny;     // PREFIX
  std::string max_lifetime;          // seconds, or with s/m/h
  std::optional<uint32_t> user_quota;
  std::optional<uint32_t> total_quota;
  std::string rate;        // BYTES/S, with k/M/G (decimal)
  std::string port_range;  // MIN-MAX
  std::string metrics;     // ADDR:PORT
  bool no_tcp = false;     // UDP only: no TCP listeners
  std::string tls_cert;    // PEM certificate chain: TLS listeners
  std::string tls_key;     // PEM private key
  std::optional<uint16_t> tls_port;
  std::optional<uint32_t> max_connections;  // TCP + TLS
  std::optional<uint32_t> threads;          // event loops; default one per CPU
};

// Everything the I/O loop needs, checked.
struct RelaydConfig {
  relay::RelayConfig relay;
  std::vector<Endpoint> listen;      // every UDP listener (four with RFC 5780)
  std::vector<Endpoint> tcp_listen;  // the --listen addresses, unless --no-tcp
  std::vector<Endpoint> tls_listen;  // the --listen addresses at --tls-port, with a cert
  std::string tls_cert;
  std::string tls_key;
  uint32_t max_connections = kDefaultMaxConnections;  // TCP and TLS, each
  std::vector<IpAddress> relay_addresses;             // one per family at most
  uint16_t port_min = kDefaultRelayPortMin;
  uint16_t port_max = kDefaultRelayPortMax;
  std::optional<Endpoint> metrics;
  uint32_t threads = 0;  // event loops; 0: one per CPU the process may run on
};

// "192.0.2.1", "192.0.2.1:3478", "2001:db8::1", "[2001:db8::1]:3478".
[[nodiscard]] std::optional<Endpoint> parse_listen(std::string_view text, uint16_t default_port);
// "NAME:PASSWORD" (the password may contain ':').
[[nodiscard]] std::optional<relay::StaticUser> parse_user(std::string_view text);
// "125000", "1M", "1.5M", "10k", "1G" (bytes per second, decimal units, optional "/s").
[[nodiscard]] std::optional<uint64_t> parse_rate(std::string_view text);
// "3600", "3600s", "60m", "1h".
[[nodiscard]] std::optional<uint64_t> parse_seconds(std::string_view text);
// "49152-65535".
[[nodiscard]] std::optional<std::pair<uint16_t, uint16_t>> parse_port_range(std::string_view text);

// Checks every option; the error names the option and how to fix it.
[[nodiscard]] Result<RelaydConfig> make_config(const RawOptions& raw);

}  // namespace tern::relayd

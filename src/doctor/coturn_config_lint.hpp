// `tern doctor relay --coturn-config FILE`: what in a turnserver.conf makes a relay half work,
// each a RelayFinding with a stable code (docs/doctor-relay.md): a private listening address
// without external-ip, the relay port range against the firewall's drops, no realm, a shared
// secret other than the overlay's, a TLS certificate that ended or ends soon, peer deny lists
// that cover the overlay's peers. Pure: the caller reads the certificate and the firewall.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/ip.hpp"
#include "doctor/coturn_config.hpp"
#include "doctor/relay_report.hpp"
#include "doctor/routes_nft.hpp"

namespace tern::doctor {

// A firewall rule that drops UDP to some ports on the relay's host.
struct FirewallDrop {
  uint16_t first_port = 0;
  uint16_t last_port = 0;
  std::string rule;  // how to find it ("inet filter input (handle 7): udp dport ... drop")
};

// The certificate named by cert=, as read from its file.
struct CertificateFile {
  std::string path;
  std::string error;  // could not be read or parsed; the dates are then meaningless
  int64_t not_before_unix = 0;
  int64_t not_after_unix = 0;
};

struct CoturnLintInput {
  std::optional<std::string> secret;  // the overlay's REST secret (--secret, NetBird's)
  std::vector<IpAddress> peers;       // addresses the relay must send to (the overlay's peers)
  // The firewall of the relay's host, when it could be read; nullopt: not known.
  std::optional<std::vector<FirewallDrop>> firewall;
  std::optional<CertificateFile> certificate;
  int64_t now_unix = 0;
};

// coturn's defaults for the relay port range.
inline constexpr uint16_t kCoturnMinPort = 49152;
inline constexpr uint16_t kCoturnMaxPort = 65535;
inline constexpr int64_t kCertificateSoonDays = 14;

// min-port..max-port, coturn's defaults where missing (as given, even when not a range).
[[nodiscard]] std::pair<uint16_t, uint16_t> relay_port_range(const CoturnConfig& config);

// The nftables rules that drop or reject UDP to some of first..last on the way in, each with
// the part of the range it takes (ports an earlier accept lets through are not counted).
[[nodiscard]] std::vector<FirewallDrop> firewall_drops_in_range(
    const std::vector<NftPortRule>& rules, uint16_t first, uint16_t last);

[[nodiscard]] std::vector<RelayFinding> lint_coturn_config(const CoturnConfig& config,
                                                           const CoturnLintInput& input);

}  // namespace tern::doctor

// What `tern doctor mtu` found: the DF-ping results for each path it measured (the underlay to
// a host or a peer's endpoint; through the tunnel to a peer's overlay address), the kernel's
// own path MTU beside them, the findings with their fix, and the MTU to configure. Rendered
// for people and as JSON with stable field names (docs/doctor-mtu.md).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/ip.hpp"
#include "doctor/df_ping.hpp"

namespace tern::doctor {

// Stable cause codes (JSON "cause").
enum class MtuCause : uint8_t {
  kNoEchoReply,         // the target answers no echo at all: nothing can be measured
  kBelowIpv6Minimum,    // an IPv6 path that does not carry 1280 bytes
  kPtbFiltered,         // probes die above the path MTU, no Packet Too Big, the kernel unaware
  kTunnelBlackHole,     // through the tunnel, packets below the interface MTU vanish
  kOverlayUnreachable,  // the peer's overlay address answers nothing through the tunnel
  kPeerNotFound,        // no running tern interface has this peer
};
std::string_view mtu_cause_name(MtuCause c);

struct MtuFinding {
  MtuCause cause = MtuCause::kNoEchoReply;
  std::string detail;  // what was seen: the evidence
  std::string fix;     // what to change
};

// The WireGuard overhead per packet on an underlay of this family: IP + UDP 8 + WireGuard 32.
inline size_t wireguard_overhead(IpAddress::Family f) {
  return f == IpAddress::Family::kV4 ? 60 : 80;
}

// The peer as the agent reports it (`tern doctor mtu PEER`).
struct MtuPeer {
  std::string public_key;
  std::string interface_name;
  uint32_t interface_mtu = 0;
  std::optional<Endpoint> endpoint;
  std::optional<IpAddress> overlay_address;
  bool agent_reports_mtu = false;  // the agent's status carries path/overlay MTU
  std::optional<uint64_t> agent_path_mtu;
  std::optional<uint64_t> agent_overlay_mtu;
  std::string agent_pmtud_state;
};

struct MtuReport {
  std::string target;                    // as given
  std::optional<MtuPeer> peer;           // set in peer mode
  std::optional<DfPingResult> underlay;  // to the host, or the peer's endpoint
  std::string underlay_error;            // why it did not run
  std::optional<DfPingResult> overlay;   // through the tunnel to the overlay address
  std::string overlay_error;
  std::vector<MtuFinding> findings;
  std::vector<std::string> notes;  // worth knowing, not wrong
  std::optional<size_t> recommended_mtu;
  std::string recommended_reason;

  bool healthy() const { return findings.empty(); }
};

// Fills findings, notes and the recommendation from the measurements (a pure function).
void analyze(MtuReport& report);

[[nodiscard]] std::string render_human(const MtuReport& report);
[[nodiscard]] nlohmann::json to_json(const MtuReport& report);
[[nodiscard]] nlohmann::json to_json(const DfPingResult& path);

}  // namespace tern::doctor

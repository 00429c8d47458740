// Per-peer path MTU state (issue 4 §1-§3): the path probe keys, the RFC 8899 search on the
// peer's current endpoint, whether the peer answers probes (tern) or not (stock WireGuard),
// the MTU it announced, and the overlay MTU that follows from them. The device drives it
// (device_probes.cpp); the decisions that need no device are pure functions here.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include "base/ip.hpp"
#include "base/time.hpp"
#include "core/pmtud.hpp"
#include "noise/path_probe_crypto.hpp"

namespace tern::core {

// Outer headers per inner packet: IP + UDP 8 + WireGuard 32 (header 16, tag 16).
inline constexpr size_t kOverheadV4 = 20 + 8 + 32;
inline constexpr size_t kOverheadV6 = 40 + 8 + 32;
// IP + UDP headers around a probe message.
inline constexpr size_t kProbeHeadersV4 = 20 + 8;
inline constexpr size_t kProbeHeadersV6 = 40 + 8;
// An announced MTU below this is taken as this (IPv4's minimum reassembly size).
inline constexpr size_t kMinAnnouncedMtu = 576;
// How long a ping waits for its pong.
inline constexpr Duration kProbeLifetime = std::chrono::seconds(3);

// Whether the peer runs tern: unknown until a pong arrives or a first round goes unanswered.
enum class ProbeSupport : uint8_t { kUnknown, kTern, kStock };
std::string_view probe_support_name(ProbeSupport s);

// A peer reached through a TURN relay (RFC 8656) pays the relay's framing on the leg this side
// controls, to the relay server, where the search runs: ChannelData's 4-byte header once a
// channel is bound (unpadded over UDP, §12.5), a Send indication until then (STUN header 20,
// XOR-PEER-ADDRESS 12 or 24, DATA header 4, padding to 4: up to 3).
inline constexpr size_t kChannelDataFraming = 4;
inline constexpr size_t kSendIndicationFramingV4 = 20 + 12 + 4 + 3;
inline constexpr size_t kSendIndicationFramingV6 = 20 + 24 + 4 + 3;
inline size_t send_indication_framing(const IpAddress& peer) {
  return peer.is_v6() ? kSendIndicationFramingV6 : kSendIndicationFramingV4;
}
// Over TCP (RFC 8656 §12.5) ChannelData is padded to 4 on the stream: up to 3 more bytes.
inline constexpr size_t kChannelDataStreamFraming = kChannelDataFraming + 3;
// A TCP header (20, 32 with timestamps) in place of UDP's 8, counted as relay framing.
inline constexpr size_t kTcpOverUdpHeader = 32 - 8;

// The leg a path MTU is measured on: the outer IP family, and the bytes a relay's framing adds
// to each WireGuard message (0 on a direct path).
struct PathLeg {
  bool outer_v6 = false;
  size_t relay_framing = 0;
  // The leg to the relay is a TCP stream: TCP segments whatever it carries, so a path MTU found
  // on it says nothing; the overlay MTU stays the configured one (docs/path-probes.md).
  bool stream = false;
  bool operator==(const PathLeg&) const = default;
};
inline PathLeg direct_leg(const IpAddress& outer) {
  return PathLeg{outer.is_v6(), 0};
}

inline size_t encapsulation_overhead(const PathLeg& leg) {
  return (leg.outer_v6 ? kOverheadV6 : kOverheadV4) + leg.relay_framing;
}
inline size_t encapsulation_overhead(const IpAddress& outer) {
  return encapsulation_overhead(direct_leg(outer));
}

// The probe message (the WireGuard-level message) that tests a path MTU; 0 when the size
// cannot be probed.
size_t probe_message_size(size_t path_mtu, const PathLeg& leg);
inline size_t probe_message_size(size_t path_mtu, const IpAddress& outer) {
  return probe_message_size(path_mtu, direct_leg(outer));
}

// The inner-packet MTU for a peer: the device MTU, lowered by what the peer announced and,
// once the peer is known to answer probes, by the path MTU found less the encapsulation.
// Until then (or for a stock WireGuard peer) the configured MTU stands.
size_t overlay_mtu(size_t device_mtu, uint16_t announced_mtu, std::optional<size_t> path_mtu,
                   const PathLeg& leg);
inline size_t overlay_mtu(size_t device_mtu, uint16_t announced_mtu, std::optional<size_t> path_mtu,
                          const IpAddress& outer) {
  return overlay_mtu(device_mtu, announced_mtu, path_mtu, direct_leg(outer));
}

// Pongs answered per peer: a token bucket, so a flood of (replayed) pings costs little.
class PongLimiter {
 public:
  static constexpr unsigned kBurst = 10;
  static constexpr Duration kInterval = std::chrono::milliseconds(100);  // 10 per second

  bool allow(Instant now);

 private:
  unsigned tokens_ = kBurst;
  std::optional<Instant> last_;
};

struct ProbeCounters {
  uint64_t pings_sent = 0;
  uint64_t pongs_received = 0;
  uint64_t pings_received = 0;
  uint64_t pongs_sent = 0;
};

// What the TUN boundary did for a peer's packets.
struct BoundaryCounters {
  uint64_t ptb_sent = 0;
  uint64_t fragments_made = 0;
  uint64_t mss_clamped = 0;
};

struct PeerPath {
  std::optional<noise::PathProbeKeys> keys;  // none: the peer's key cannot be probed
  Pmtud pmtud;
  std::optional<Endpoint> endpoint;  // the path the search runs on
  // Set by the agent for a peer reached through its TURN allocation: the relay server's family
  // and the framing in use (ChannelData or Send indication).
  std::optional<PathLeg> relay;
  uint32_t generation = 0;  // bumped per path: pongs for an older one are stale
  ProbeSupport support = ProbeSupport::kUnknown;
  std::optional<Instant> retry_at;  // a stock peer is probed again then
  std::optional<size_t> probe_due;  // a ping of this path MTU waits in poll_transmit
  uint16_t announced_mtu = 0;
  size_t overlay_mtu = 0;  // in effect; 0 until the device sets it
  size_t reported_path_mtu = 0;
  ProbeCounters probes;
  BoundaryCounters boundary;
  PongLimiter pong_limiter;

  // The leg the search measures: to the relay server for a relayed peer, else to the endpoint.
  PathLeg leg() const {
    if (relay) return *relay;
    return endpoint ? direct_leg(endpoint->address) : PathLeg{};
  }

  // The path MTU that counts for the overlay: only what a tern peer's pongs established.
  std::optional<size_t> path_mtu() const {
    if (support != ProbeSupport::kTern || !endpoint) return std::nullopt;
    return pmtud.current_mtu();
  }
};

}  // namespace tern::core

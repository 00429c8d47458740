// The TUN boundary (issue 4 §4): what happens to an inner packet that crosses between the TUN
// and a peer whose overlay MTU it may not fit. Outbound, a packet larger than the peer's MTU is
// answered with an ICMP "fragmentation needed" / ICMPv6 Packet Too Big written back into the
// TUN (IPv6, IPv4 with DF; rate-limited), or cut into IPv4 fragments (IPv4 without DF). IPv6
// below 1280 is carried in IPv6 fragments, as every IPv6 link must carry 1280. TCP SYNs and
// SYN-ACKs have their MSS clamped to the peer's MTU in both directions. Sans-I/O.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "base/bytes.hpp"
#include "base/time.hpp"

namespace tern::core {

// PTBs written per second at most, across all destinations: a token bucket.
class PtbLimiter {
 public:
  static constexpr unsigned kPerSecond = 100;
  static constexpr unsigned kBurst = 50;
  static constexpr Duration kInterval = Duration(std::chrono::seconds(1)) / kPerSecond;

  [[nodiscard]] bool allow(Instant now);

 private:
  Duration credit_ = kInterval * kBurst;  // starts full
  Instant last_{};
  bool started_ = false;
};

struct TunBoundaryCounters {
  uint64_t ptb_sent = 0;
  uint64_t ptb_rate_limited = 0;    // too big, and the PTB was held back by the limit
  uint64_t packets_fragmented = 0;  // IPv4 packets without DF cut into fragments
  uint64_t fragments_made = 0;
  uint64_t mss_clamped = 0;      // SYNs and SYN-ACKs whose MSS was lowered, both directions
  uint64_t too_big_dropped = 0;  // too big, and neither a PTB nor fragments could be made
};

// Why the boundary dropped a packet; the device counts it under its own DropReason.
enum class BoundaryDrop : uint8_t {
  kNone,
  kPtbRateLimited,  // a PTB was due but the limit held it back: the sender retries anyway
  kTooBig,          // over the MTU and nothing to answer: an ICMP error itself, a source no
                    // error may go to, or a packet that cannot be fragmented
};

struct BoundaryVerdict {
  enum class Action : uint8_t {
    kForward,   // send the packet as it is (its MSS may have been clamped in place)
    kFragment,  // send fragment(0 .. fragment_count) instead of the packet
    kReply,     // write reply_out[0, reply_length) into the TUN; the packet goes nowhere
    kDrop,      // see `drop`
  };
  Action action = Action::kForward;
  bool mss_clamped = false;
  size_t reply_length = 0;
  size_t fragment_count = 0;
  BoundaryDrop drop = BoundaryDrop::kNone;
};

class TunBoundary {
 public:
  // IPv4's minimum reassembly size; fragmenting for a smaller MTU works only for packets whose
  // fragments fit the preallocated buffer, the rest are dropped as too big.
  static constexpr size_t kMinFragmentMtu = 576;
  static constexpr size_t kMaxPacket = 65535;
  static constexpr size_t kMaxFragments = (kMaxPacket + 511) / 512 + 1;

  TunBoundary();

  // A packet read from the TUN for a peer whose overlay MTU is `peer_mtu`. `packet` is exactly
  // the IP packet. `reply_out` receives a PTB (wire::kPacketTooBigMaxSize bytes suffice).
  // A packet this boundary cannot parse but that fits is forwarded unchanged.
  [[nodiscard]] BoundaryVerdict outbound(MutableBytes packet, size_t peer_mtu, Instant now,
                                         MutableBytes reply_out);

  // A packet from a peer, about to be written to the TUN: a SYN or SYN-ACK has its MSS
  // clamped to what fits `peer_mtu`, so the local end never sends the peer too much.
  // True when it was clamped.
  bool inbound(MutableBytes packet, size_t peer_mtu);

  // After Action::kFragment, valid until the next outbound(): fragment `i` of the last packet.
  [[nodiscard]] Bytes fragment(size_t i) const {
    return Bytes(fragments_.data() + offsets_[i], sizes_[i]);
  }
  // Copies fragment `i` into `out` (with room for it) and returns its size; 0 if out is short.
  [[nodiscard]] size_t write_fragment(size_t i, MutableBytes out) const;

  const TunBoundaryCounters& counters() const { return counters_; }

 private:
  BoundaryVerdict too_big(MutableBytes packet, size_t peer_mtu, Instant now, MutableBytes reply_out,
                          BoundaryVerdict v);
  // Cuts an IPv6 packet into fragments of at most `mtu` into fragments_; 0 when it cannot.
  size_t fragment_v6(Bytes packet, size_t mtu);

  PtbLimiter limiter_;
  TunBoundaryCounters counters_;
  std::vector<uint8_t> fragments_;  // allocated once: every fragment of one packet
  std::array<size_t, kMaxFragments> sizes_{};
  std::array<size_t, kMaxFragments> offsets_{};
  uint32_t next_fragment_id_ = 0x7e4e0001;  // IPv6 fragments this boundary makes
};

}  // namespace tern::core

// TCP MSS clamping (issue 4 §4): a SYN or SYN-ACK crossing the tunnel, in either direction,
// has its Maximum Segment Size option (RFC 9293 §3.7.1: kind 2, length 4) lowered to what
// fits the peer's MTU, so both ends send segments that need no fragmentation and no PTB.
// The TCP checksum is updated incrementally (RFC 1624 eqn. 3) instead of recomputed.
#pragma once

#include <cstddef>
#include <cstdint>

#include "base/bytes.hpp"

namespace tern::wire {

// The MSS for an inner MTU: MTU minus the IPv4 + TCP headers (40) or IPv6 + TCP (60).
constexpr uint16_t mss_for_mtu(size_t mtu, bool ipv6) {
  const size_t headers = ipv6 ? 60 : 40;
  if (mtu <= headers) return 0;
  return static_cast<uint16_t>(mtu - headers > 0xffff ? 0xffff : mtu - headers);
}

enum class MssClamp : uint8_t {
  kNotApplicable,  // not a TCP SYN (or SYN-ACK) with a readable header and option list
  kUnchanged,      // no MSS option, or it is already <= the limit
  kClamped,        // the option was lowered and the checksum updated
};

// Clamps the MSS option of the TCP segment in the IPv4/IPv6 `packet` to `max_mss`, in place.
// With `checksum_partial` (an offloaded packet from a TUN with IFF_VNET_HDR, whose checksum
// field holds only the pseudo-header sum) the checksum is left alone: the kernel or NIC
// computes it later over the new bytes.
[[nodiscard]] MssClamp clamp_tcp_mss(MutableBytes packet, uint16_t max_mss,
                                     bool checksum_partial = false);

// RFC 1624 eqn. 3, HC' = ~(~HC + ~m + m'): the checksum `hc` after the 16-bit word `m`
// (as summed: big-endian, at an even offset from the start of the checksummed data) became `m2`.
[[nodiscard]] uint16_t checksum_update16(uint16_t hc, uint16_t m, uint16_t m2);

}  // namespace tern::wire

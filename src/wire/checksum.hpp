// The Internet checksum (RFC 1071) of IPv4 headers and TCP/UDP segments, as the TUN offload
// code needs it: partial sums that add up piece by piece, the pseudo-header sum, and the fold.
// A sum is a one's-complement accumulator; only its folded 16 bits mean anything.
#pragma once

#include <cstdint>

#include "base/bytes.hpp"

namespace tern::wire {

// Adds `data`, read as big-endian 16-bit words, to `sum`. An odd final byte counts as if
// followed by a zero byte, so only the last piece of a checksum may have an odd length.
[[nodiscard]] uint64_t checksum_add(Bytes data, uint64_t sum = 0);

// The sum folded to 16 bits, not complemented: what a partial (offloaded) checksum field holds.
[[nodiscard]] uint16_t checksum_fold(uint64_t sum);

// The value a checksum field carries: the complement of the folded sum.
[[nodiscard]] inline uint16_t checksum_finish(uint64_t sum) {
  return static_cast<uint16_t>(~checksum_fold(sum));
}

// The TCP/UDP pseudo header: source and destination address (4 or 16 bytes each), protocol
// and the transport length (header and payload). RFC 768 / RFC 9293 §3.1, RFC 8200 §8.1.
[[nodiscard]] uint64_t pseudo_header_sum(Bytes source, Bytes destination, uint8_t protocol,
                                         uint32_t transport_length);

}  // namespace tern::wire

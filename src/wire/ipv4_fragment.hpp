// IPv4 fragmentation (RFC 791 §3.2, "An Example Fragmentation Procedure") for inner packets
// without DF that exceed their peer's MTU (issue 4 §4): the receiving host reassembles them.
// Every fragment but the last carries a multiple of 8 data bytes; offsets count 8-byte units
// from the original packet's own offset, so a fragment can be fragmented again. The first
// fragment keeps all options, the others only those with the copied flag (RFC 791 §3.1).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "base/bytes.hpp"

namespace tern::wire {

// How many fragments fragment_ipv4() makes of `packet`; 0 when it would refuse.
[[nodiscard]] size_t ipv4_fragment_count(Bytes packet, size_t mtu);

// Splits `packet` into fragments of at most `mtu` bytes, written back to back into `out`;
// sizes[i] is the length of the i-th. Returns the number of fragments, or 0 when it cannot:
// not a well-formed IPv4 packet, DF set, it already fits, `mtu` leaves no room for 8 data
// bytes after the header, malformed options, or `out` / `sizes` too small. Header checksums
// are computed; the payload is copied unchanged.
[[nodiscard]] size_t fragment_ipv4(Bytes packet, size_t mtu, MutableBytes out,
                                   std::span<size_t> sizes);

}  // namespace tern::wire

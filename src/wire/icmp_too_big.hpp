// "Your packet is too big" for the local OS (issue 4 §4): when an inner packet from the TUN
// exceeds its peer's MTU, the agent writes one of these back into the TUN, so the sender's
// kernel caches the path MTU for that destination and resends smaller.
//
// ICMPv4 Destination Unreachable, Fragmentation Needed (RFC 792, RFC 1191 §4):
//   type 3 | code 4 | checksum | unused (2) = 0 | next-hop MTU (2) | original IP header +
//   as much of its data as keeps the ICMP datagram within 576 bytes (RFC 1812 §4.3.2.3)
// ICMPv6 Packet Too Big (RFC 4443 §3.2):
//   type 2 | code 0 | checksum | MTU (4) | as much of the invoking packet as keeps the
//   ICMPv6 packet within 1280 bytes (§2.4(c)); the checksum covers the pseudo-header (§2.3)
//
// The error is addressed from the original destination to the original source: the local
// kernel drops packets from its own address arriving on an interface (a martian), and the
// destination is routed through the TUN, so reverse-path filtering accepts it.
#pragma once

#include <cstddef>
#include <cstdint>

#include "base/bytes.hpp"

namespace tern::wire {

inline constexpr size_t kIcmpv4ErrorLimit = 576;
inline constexpr size_t kIcmpv6ErrorLimit = 1280;
// An `out` buffer this large always suffices.
inline constexpr size_t kPacketTooBigMaxSize = kIcmpv6ErrorLimit;

// Writes to `out` the ICMP error telling the sender of `packet` (an inner IPv4 packet with DF
// set, or an IPv6 packet) that `mtu` is the largest packet that fits, and returns its size.
// Returns 0 when no error may or need be sent:
// - not a well-formed IP packet, or it fits (total length <= mtu);
// - IPv4 without DF (fragment it instead), or mtu < 68 (IPv4) / < 1280 (IPv6);
// - the packet is itself an ICMP error, or a non-first IPv4 fragment (RFC 1122 §3.2.2,
//   RFC 4443 §2.4(e));
// - its source is not a unicast host (unspecified, loopback, multicast, class E), or an IPv4
//   destination is multicast or broadcast (IPv6 multicast destinations do get one);
// - `out` is too small.
[[nodiscard]] size_t build_packet_too_big(Bytes packet, size_t mtu, MutableBytes out);

}  // namespace tern::wire

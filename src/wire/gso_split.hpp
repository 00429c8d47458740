// Segmentation of the super-packets a TUN with offloads (TSO/USO) hands over: one TCP or UDP
// packet of up to 64 KiB, described by its virtio-net header, that stands for a train of
// packets of at most gso_size payload bytes each. Each packet is rebuilt as the kernel's
// tcp_gso_segment/__udp_gso_segment would: headers copied, IPv4 length, ID and header
// checksum, IPv6 payload length, TCP sequence number and flags or UDP length fixed, and the
// transport checksum computed in full. Also completes the checksum of a single packet that
// the kernel left partial (kVirtioNetNeedsCsum without GSO).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>

#include "base/bytes.hpp"
#include "wire/virtio_net.hpp"

namespace tern::wire {

struct GsoFrame {
  enum class Transport : uint8_t { kTcp, kUdp };
  Transport transport = Transport::kTcp;
  bool ipv6 = false;
  size_t transport_offset = 0;  // IP header (and IPv6 extension headers): csum_start
  size_t header_length = 0;     // transport_offset + TCP/UDP header: copied into every packet
  size_t segment_size = 0;      // payload bytes per packet; the last one may carry fewer
  size_t segment_count = 0;     // at least 1
  size_t max_packet_size = 0;   // header_length + segment_size: the largest packet written
};

// Checks a GSO header against its packet: the type is TCPv4, TCPv6 or UDP L4, the IP
// version, protocol and header lengths agree, and every packet fits an IP length field.
// nullopt for anything else (the caller counts the packet as malformed). The header's
// hdr_len is not trusted: the kernel may set it to the whole linear part.
[[nodiscard]] std::optional<GsoFrame> parse_gso_frame(const VirtioNetHeader& h, Bytes packet);

// Writes packet `index` (< segment_count) of `frame` into `out` and returns its length; 0 if
// `out` is too small or index is out of range. Packets are independent of each other, so a
// frame can be written in pieces.
[[nodiscard]] size_t write_gso_segment(const GsoFrame& frame, Bytes packet, size_t index,
                                       MutableBytes out);

// For a packet without GSO whose checksum is partial: sums [csum_start, end) into the field at
// csum_start + csum_offset, which holds the pseudo-header sum. False if the offsets do not fit.
[[nodiscard]] bool complete_partial_checksum(MutableBytes packet, const VirtioNetHeader& h);

}  // namespace tern::wire

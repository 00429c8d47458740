#include "wire/gso_split.hpp"

#include <algorithm>
#include <cstring>

#include "wire/checksum.hpp"

namespace tern::wire {
namespace {

constexpr uint8_t kProtocolTcp = 6;
constexpr uint8_t kProtocolUdp = 17;
constexpr size_t kTcpChecksumOffset = 16;
constexpr size_t kUdpChecksumOffset = 6;
constexpr size_t kUdpHeader = 8;
constexpr size_t kMaxIpLength = 0xffff;
constexpr uint8_t kTcpFin = 0x01;
constexpr uint8_t kTcpPsh = 0x08;
constexpr uint8_t kTcpCwr = 0x80;

uint16_t be16(const uint8_t* p) {
  return static_cast<uint16_t>((p[0] << 8) | p[1]);
}
void put_be16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}
uint32_t be32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
}
void put_be32(uint8_t* p, uint32_t v) {
  put_be16(p, static_cast<uint16_t>(v >> 16));
  put_be16(p + 2, static_cast<uint16_t>(v));
}

// The transport checksum of a whole packet, computed from scratch; 0 is sent as 0xffff.
void fill_transport_checksum(MutableBytes pkt, bool ipv6, size_t l4, size_t field,
                             uint8_t protocol) {
  pkt[l4 + field] = 0;
  pkt[l4 + field + 1] = 0;
  const size_t addr = ipv6 ? 16 : 4;
  const size_t src = ipv6 ? 8 : 12;
  const uint32_t l4_length = static_cast<uint32_t>(pkt.size() - l4);
  uint64_t sum =
      pseudo_header_sum(pkt.subspan(src, addr), pkt.subspan(src + addr, addr), protocol, l4_length);
  sum = checksum_add(pkt.subspan(l4), sum);
  const uint16_t c = checksum_finish(sum);
  put_be16(&pkt[l4 + field], c == 0 ? 0xffff : c);
}

}  // namespace

std::optional<GsoFrame> parse_gso_frame(const VirtioNetHeader& h, Bytes packet) {
  GsoFrame f;
  const uint8_t type = h.gso_type & static_cast<uint8_t>(~kVirtioNetGsoEcn);
  uint8_t protocol;
  switch (type) {
    case kVirtioNetGsoTcpV4:
    case kVirtioNetGsoTcpV6:
      f.transport = GsoFrame::Transport::kTcp;
      protocol = kProtocolTcp;
      if (h.csum_offset != kTcpChecksumOffset) return std::nullopt;
      break;
    case kVirtioNetGsoUdpL4:
      f.transport = GsoFrame::Transport::kUdp;
      protocol = kProtocolUdp;
      if (h.csum_offset != kUdpChecksumOffset) return std::nullopt;
      break;
    default:
      return std::nullopt;
  }
  if (h.gso_size == 0 || packet.empty()) return std::nullopt;
  const uint8_t version = packet[0] >> 4;
  if (version == 4) {
    if (type == kVirtioNetGsoTcpV6 || packet.size() < 20) return std::nullopt;
    const size_t ihl = size_t{packet[0] & 0x0fu} * 4;
    // A fragment cannot be segmented (MF set or a fragment offset).
    if (ihl < 20 || h.csum_start != ihl || packet[9] != protocol) return std::nullopt;
    if ((be16(&packet[6]) & 0x3fff) != 0) return std::nullopt;
  } else if (version == 6) {
    if (type == kVirtioNetGsoTcpV4 || packet.size() < 40 || h.csum_start < 40) {
      return std::nullopt;
    }
    if (h.csum_start == 40 && packet[6] != protocol) return std::nullopt;
    f.ipv6 = true;
  } else {
    return std::nullopt;
  }
  f.transport_offset = h.csum_start;
  size_t l4_header = kUdpHeader;
  if (f.transport == GsoFrame::Transport::kTcp) {
    if (packet.size() < f.transport_offset + 20) return std::nullopt;
    l4_header = static_cast<size_t>(packet[f.transport_offset + 12] >> 4) * 4;
    if (l4_header < 20) return std::nullopt;
  }
  f.header_length = f.transport_offset + l4_header;
  if (packet.size() < f.header_length) return std::nullopt;
  f.segment_size = h.gso_size;
  f.max_packet_size = f.header_length + f.segment_size;
  // Every packet's length must fit the IPv4 total length / IPv6 payload length field.
  const size_t ip_fixed = f.ipv6 ? 40 : 0;
  if (f.max_packet_size - ip_fixed > kMaxIpLength) return std::nullopt;
  const size_t payload = packet.size() - f.header_length;
  f.segment_count = payload == 0 ? 1 : (payload + f.segment_size - 1) / f.segment_size;
  return f;
}

size_t write_gso_segment(const GsoFrame& f, Bytes packet, size_t index, MutableBytes out) {
  if (index >= f.segment_count) return 0;
  const size_t payload_total = packet.size() - f.header_length;
  const size_t offset = index * f.segment_size;
  const size_t len = payload_total == 0 ? 0 : std::min(f.segment_size, payload_total - offset);
  const size_t total = f.header_length + len;
  if (out.size() < total) return 0;
  std::memcpy(out.data(), packet.data(), f.header_length);
  std::memcpy(out.data() + f.header_length, packet.data() + f.header_length + offset, len);
  MutableBytes pkt = out.first(total);
  const size_t l4 = f.transport_offset;

  if (f.ipv6) {
    put_be16(&pkt[4], static_cast<uint16_t>(total - 40));
  } else {
    put_be16(&pkt[2], static_cast<uint16_t>(total));
    put_be16(&pkt[4], static_cast<uint16_t>(be16(&pkt[4]) + index));
    pkt[10] = 0;
    pkt[11] = 0;
    put_be16(&pkt[10], checksum_finish(checksum_add(pkt.first(l4))));
  }

  if (f.transport == GsoFrame::Transport::kTcp) {
    put_be32(&pkt[l4 + 4], be32(&pkt[l4 + 4]) + static_cast<uint32_t>(offset));
    uint8_t flags = pkt[l4 + 13];
    if (index + 1 < f.segment_count) flags &= static_cast<uint8_t>(~(kTcpFin | kTcpPsh));
    if (index > 0) flags &= static_cast<uint8_t>(~kTcpCwr);
    pkt[l4 + 13] = flags;
    fill_transport_checksum(pkt, f.ipv6, l4, kTcpChecksumOffset, kProtocolTcp);
  } else {
    put_be16(&pkt[l4 + 4], static_cast<uint16_t>(kUdpHeader + len));
    fill_transport_checksum(pkt, f.ipv6, l4, kUdpChecksumOffset, kProtocolUdp);
  }
  return total;
}

bool complete_partial_checksum(MutableBytes packet, const VirtioNetHeader& h) {
  const size_t field = size_t{h.csum_start} + h.csum_offset;
  if (h.csum_start >= packet.size() || field + 2 > packet.size()) return false;
  // The field holds the folded pseudo-header sum; the sum over the rest completes it.
  const uint16_t c = checksum_finish(checksum_add(packet.subspan(h.csum_start)));
  put_be16(&packet[field], c == 0 ? 0xffff : c);
  return true;
}

}  // namespace tern::wire

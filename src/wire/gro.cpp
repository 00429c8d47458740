#include "wire/gro.hpp"

#include <cstring>

#include "wire/checksum.hpp"

namespace tern::wire {
namespace {

constexpr uint8_t kProtocolTcp = 6;
constexpr uint8_t kProtocolUdp = 17;
constexpr uint8_t kTcpAck = 0x10;
constexpr uint8_t kTcpPsh = 0x08;
constexpr size_t kUdpHeader = 8;
constexpr size_t kTcpChecksum = 16;
constexpr size_t kUdpChecksum = 6;
constexpr uint32_t kMaxIpLength = 0xffff;

uint16_t be16(const uint8_t* p) {
  return static_cast<uint16_t>((p[0] << 8) | p[1]);
}
uint32_t be32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
}
void put_be16(uint8_t* p, uint32_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}

size_t address_offset(bool v6) {
  return v6 ? 8 : 12;
}
size_t address_size(bool v6) {
  return v6 ? 16 : 4;
}

uint64_t transport_pseudo_sum(Bytes p, bool v6, bool udp, uint32_t transport_length) {
  const size_t at = address_offset(v6), n = address_size(v6);
  return pseudo_header_sum(p.subspan(at, n), p.subspan(at + n, n),
                           udp ? kProtocolUdp : kProtocolTcp, transport_length);
}

uint64_t mix(uint64_t h, uint64_t v) {
  h ^= v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
  return h * 0xff51afd7ed558ccdull;
}

// Where the transport header is: IPv4 without options or fragments, or IPv6 without
// extension headers, carrying TCP or UDP, lengths exact. Only such packets are coalesced, or
// looked up as part of a flow.
bool parse_layout(Bytes p, bool& v6, bool& udp, uint8_t& ip_header, uint8_t& l4_header) {
  if (p.size() < 28) return false;
  uint8_t protocol;
  const uint8_t version = p[0] >> 4;
  if (version == 4) {
    if (p[0] != 0x45 || be16(&p[2]) != p.size()) return false;
    if ((be16(&p[6]) & 0x3fff) != 0) return false;  // MF or a fragment offset
    protocol = p[9];
    ip_header = 20;
    v6 = false;
  } else if (version == 6) {
    if (p.size() < 48 || size_t{be16(&p[4])} + 40 != p.size()) return false;
    protocol = p[6];
    ip_header = 40;
    v6 = true;
  } else {
    return false;
  }
  if (protocol == kProtocolUdp) {
    if (be16(&p[ip_header + 4u]) != p.size() - ip_header) return false;
    udp = true;
    l4_header = kUdpHeader;
    return true;
  }
  if (protocol != kProtocolTcp || p.size() < ip_header + 20u) return false;
  const size_t th = static_cast<size_t>(p[ip_header + 12u] >> 4) * 4;
  if (th < 20 || ip_header + th > p.size()) return false;
  udp = false;
  l4_header = static_cast<uint8_t>(th);
  return true;
}

}  // namespace

Gro::Gro(size_t capacity) : capacity_(capacity) {
  packets_.reserve(capacity);
  next_.reserve(capacity);
  trains_.reserve(capacity);
  parts_.reserve(capacity);
  frames_.reserve(capacity);
  size_t slots = 16;
  while (slots < 2 * capacity)
    slots *= 2;
  slots_.resize(slots);
}

void Gro::clear() {
  packets_.clear();
  next_.clear();
  trains_.clear();
  parts_.clear();
  frames_.clear();
  // A new generation empties every slot at once.
  if (++generation_ == 0) {
    for (auto& s : slots_)
      s = Slot{};
    generation_ = 1;
  }
}

uint32_t Gro::start_train(uint32_t packet, const Train& t) {
  trains_.push_back(t);
  trains_.back().first = packet;
  trains_.back().last = packet;
  trains_.back().count = 1;
  return static_cast<uint32_t>(trains_.size() - 1);
}

bool Gro::same_flow(const Train& t, Bytes p, const Layout& l) const {
  const Layout& tl = t.layout;
  if (tl.v6 != l.v6 || tl.udp != l.udp) return false;
  Bytes q = packets_[t.first];
  const size_t at = address_offset(l.v6), n = 2 * address_size(l.v6);
  if (std::memcmp(&p[at], &q[at], n) != 0) return false;
  if (std::memcmp(&p[l.ip_header], &q[l.ip_header], 4) != 0) return false;          // ports
  return l.udp || std::memcmp(&p[l.ip_header + 8u], &q[l.ip_header + 8u], 4) == 0;  // ACK
}

bool Gro::can_follow(const Train& t, Bytes p, uint16_t payload) const {
  const Layout& l = t.layout;
  if (t.closed || t.count >= kMaxTrain || payload > t.segment_size) return false;
  const uint32_t limit = kMaxIpLength + (l.v6 ? 40u : 0u);
  if (t.length + payload > limit) return false;
  Bytes q = packets_[t.first];
  if (l.v6) {
    // Version, traffic class and flow label; hop limit.
    if (std::memcmp(&p[0], &q[0], 4) != 0 || p[7] != q[7]) return false;
  } else {
    // TOS; DF and the reserved bit; TTL.
    if (p[1] != q[1] || (p[6] >> 5) != (q[6] >> 5) || p[8] != q[8]) return false;
  }
  if (l.udp) return true;
  // TCP: the header length (options included) and the options themselves; the sequence.
  if (static_cast<size_t>(p[l.ip_header + 12u] >> 4) * 4 != l.l4_header) return false;
  if (be32(&p[l.ip_header + 4u]) != t.next_seq) return false;
  const size_t options = l.ip_header + 20u;
  return std::memcmp(&p[options], &q[options], l.l4_header - 20u) == 0;
}

bool Gro::add(MutableBytes packet) {
  if (full()) return false;
  const uint32_t index = static_cast<uint32_t>(packets_.size());
  packets_.push_back(packet);
  next_.push_back(kNone);

  Layout l;
  if (!parse_layout(packet, l.v6, l.udp, l.ip_header, l.l4_header) || (l.udp && !udp_)) {
    start_train(index, Train{});  // not a flow GRO knows: alone, closed
    return true;
  }
  const size_t headers = size_t{l.ip_header} + l.l4_header;
  const uint16_t payload = static_cast<uint16_t>(packet.size() - headers);
  bool join = payload > 0;
  bool psh = false;
  if (join && !l.udp) {
    const uint8_t flags = packet[l.ip_header + 13u];
    join = flags == kTcpAck || flags == (kTcpAck | kTcpPsh);
    psh = flags & kTcpPsh;
  }
  // An IPv4 UDP datagram without a checksum (0) stays as it is.
  if (join && l.udp) join = be16(&packet[l.ip_header + kUdpChecksum]) != 0;
  if (join && !l.v6) join = checksum_fold(checksum_add(packet.first(20))) == 0xffff;
  if (join) {
    const uint32_t l4 = static_cast<uint32_t>(packet.size() - l.ip_header);
    const uint64_t pseudo = transport_pseudo_sum(packet, l.v6, l.udp, l4);
    join = checksum_fold(checksum_add(packet.subspan(l.ip_header), pseudo)) == 0xffff;
  }

  // The flow key: protocol, addresses, ports and, for TCP, the ACK number.
  uint64_t h = mix(l.v6, l.udp);
  const size_t at = address_offset(l.v6), n = 2 * address_size(l.v6);
  for (size_t i = 0; i < n; i += 4)
    h = mix(h, be32(&packet[at + i]));
  h = mix(h, be32(&packet[l.ip_header]));
  if (!l.udp) h = mix(h, be32(&packet[l.ip_header + 8u]));
  const size_t mask = slots_.size() - 1;
  size_t i = (h ^ (h >> 29)) & mask;
  for (; slots_[i].generation == generation_; i = (i + 1) & mask) {
    Train& t = trains_[slots_[i].train];
    if (!same_flow(t, packet, l)) continue;
    if (!join) {
      // A FIN, a pure ACK, a bad checksum: nothing of its flow may overtake it.
      t.closed = true;
      break;
    }
    if (can_follow(t, packet, payload)) {
      next_[t.last] = index;
      t.last = index;
      ++t.count;
      t.next_seq += payload;
      t.length += payload;
      t.psh = psh;
      // After PSH or a short packet the train ends.
      if (psh || payload < t.segment_size) t.closed = true;
      return true;
    }
    break;  // the flow's latest train cannot take it: this packet starts the next one
  }
  if (!join) {
    start_train(index, Train{});
    return true;
  }
  Train t;
  t.layout = l;
  t.segment_size = payload;
  t.next_seq = l.udp ? 0 : be32(&packet[l.ip_header + 4u]) + payload;
  t.length = static_cast<uint32_t>(packet.size());
  t.psh = psh;
  t.closed = psh;
  slots_[i] = Slot{generation_, start_train(index, t)};
  return true;
}

void Gro::seal(Train& t, FrameRef& f) {
  MutableBytes p = packets_[t.first];
  const Layout& l = t.layout;
  const size_t ip = l.ip_header;
  if (l.v6) {
    put_be16(&p[4], t.length - 40);
  } else {
    put_be16(&p[2], t.length);
    p[10] = 0;
    p[11] = 0;
    put_be16(&p[10], checksum_finish(checksum_add(p.first(20))));
  }
  const uint32_t l4 = t.length - static_cast<uint32_t>(ip);
  const size_t field = ip + (l.udp ? kUdpChecksum : kTcpChecksum);
  if (l.udp) {
    put_be16(&p[ip + 4], l4);
  } else if (t.psh) {
    p[ip + 13] |= kTcpPsh;
  }
  // A partial checksum: the pseudo-header sum, which the kernel completes (or trusts).
  put_be16(&p[field], checksum_fold(transport_pseudo_sum(p, l.v6, l.udp, l4)));
  f.header.flags = kVirtioNetNeedsCsum;
  f.header.gso_type = l.udp ? kVirtioNetGsoUdpL4 : l.v6 ? kVirtioNetGsoTcpV6 : kVirtioNetGsoTcpV4;
  f.header.hdr_len = static_cast<uint16_t>(ip + l.l4_header);
  f.header.gso_size = t.segment_size;
  f.header.csum_start = static_cast<uint16_t>(ip);
  f.header.csum_offset = static_cast<uint16_t>(field - ip);
}

void Gro::finish() {
  parts_.clear();
  frames_.clear();
  for (Train& t : trains_) {
    FrameRef f;
    f.first_part = static_cast<uint32_t>(parts_.size());
    f.packets = t.count;
    if (t.count > 1) seal(t, f);
    parts_.push_back(packets_[t.first]);
    const size_t headers = size_t{t.layout.ip_header} + t.layout.l4_header;
    for (uint32_t k = next_[t.first]; k != kNone; k = next_[k])
      parts_.push_back(Bytes(packets_[k]).subspan(headers));
    f.parts = static_cast<uint32_t>(parts_.size()) - f.first_part;
    frames_.push_back(f);
  }
}

Gro::Frame Gro::frame(size_t i) const {
  const FrameRef& f = frames_[i];
  return Frame{f.header, std::span<const Bytes>(parts_.data() + f.first_part, f.parts), f.packets};
}

}  // namespace tern::wire

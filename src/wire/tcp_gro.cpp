#include "wire/tcp_gro.hpp"

#include <cstring>

#include "wire/checksum.hpp"

namespace tern::wire {
namespace {

constexpr uint8_t kProtocolTcp = 6;
constexpr uint8_t kTcpAck = 0x10;
constexpr uint8_t kTcpPsh = 0x08;
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

uint64_t transport_pseudo_sum(Bytes p, bool v6, uint32_t transport_length) {
  const size_t at = address_offset(v6), n = address_size(v6);
  return pseudo_header_sum(p.subspan(at, n), p.subspan(at + n, n), kProtocolTcp, transport_length);
}

// Where the TCP header is: IPv4 without options or fragments, or IPv6 without extension
// headers, lengths exact. Only such packets are coalesced, or looked up as part of a flow.
bool tcp_layout(Bytes p, uint8_t& ip_header, uint8_t& tcp_header, bool& v6) {
  if (p.size() < 40) return false;
  const uint8_t version = p[0] >> 4;
  if (version == 4) {
    if (p[0] != 0x45 || be16(&p[2]) != p.size() || p[9] != kProtocolTcp) return false;
    if ((be16(&p[6]) & 0x3fff) != 0) return false;  // MF or a fragment offset
    ip_header = 20;
    v6 = false;
  } else if (version == 6) {
    if (p.size() < 60 || size_t{be16(&p[4])} + 40 != p.size() || p[6] != kProtocolTcp) {
      return false;
    }
    ip_header = 40;
    v6 = true;
  } else {
    return false;
  }
  const size_t th = static_cast<size_t>(p[ip_header + 12] >> 4) * 4;
  if (th < 20 || ip_header + th > p.size()) return false;
  tcp_header = static_cast<uint8_t>(th);
  return true;
}

// A packet that may join a train: payload, only ACK or ACK|PSH, checksums valid.
bool coalescible(Bytes p, size_t ip_header, size_t tcp_header, bool v6) {
  if (ip_header + tcp_header == p.size()) return false;
  const uint8_t flags = p[ip_header + 13];
  if (flags != kTcpAck && flags != (kTcpAck | kTcpPsh)) return false;
  if (!v6 && checksum_fold(checksum_add(p.first(20))) != 0xffff) return false;
  const uint32_t l4 = static_cast<uint32_t>(p.size() - ip_header);
  return checksum_fold(checksum_add(p.subspan(ip_header), transport_pseudo_sum(p, v6, l4))) ==
         0xffff;
}

uint64_t mix(uint64_t h, uint64_t v) {
  h ^= v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
  return h * 0xff51afd7ed558ccdull;
}

// Hash of the flow key: addresses, ports, ACK number.
uint64_t flow_hash(Bytes p, bool v6, size_t ip_header) {
  uint64_t h = v6;
  const size_t at = address_offset(v6), n = 2 * address_size(v6);
  for (size_t i = 0; i < n; i += 4)
    h = mix(h, be32(&p[at + i]));
  h = mix(h, be32(&p[ip_header]));      // ports
  h = mix(h, be32(&p[ip_header + 8]));  // ACK
  return h ^ (h >> 29);
}

}  // namespace

TcpGro::TcpGro(size_t capacity) : capacity_(capacity) {
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

void TcpGro::clear() {
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

uint32_t TcpGro::start_train(uint32_t packet, const Train& t) {
  trains_.push_back(t);
  trains_.back().first = packet;
  trains_.back().last = packet;
  trains_.back().count = 1;
  return static_cast<uint32_t>(trains_.size() - 1);
}

bool TcpGro::same_flow(const Train& t, Bytes p) const {
  Bytes q = packets_[t.first];
  if (t.v6 != ((p[0] >> 4) == 6)) return false;
  const size_t at = address_offset(t.v6), n = 2 * address_size(t.v6);
  return std::memcmp(&p[at], &q[at], n) == 0 &&
         std::memcmp(&p[t.ip_header], &q[t.ip_header], 4) == 0 &&        // ports
         std::memcmp(&p[t.ip_header + 8], &q[t.ip_header + 8], 4) == 0;  // ACK
}

bool TcpGro::can_follow(const Train& t, Bytes p, const Train& c, uint32_t seq) const {
  if (t.closed || t.count >= kMaxTrain || c.tcp_header != t.tcp_header) return false;
  if (seq != t.next_seq || c.segment_size > t.segment_size) return false;
  const uint32_t limit = kMaxIpLength + (t.v6 ? 40u : 0u);
  if (t.length + c.segment_size > limit) return false;
  Bytes q = packets_[t.first];
  if (t.v6) {
    // Version, traffic class and flow label; hop limit.
    if (std::memcmp(&p[0], &q[0], 4) != 0 || p[7] != q[7]) return false;
  } else {
    // TOS; DF and the reserved bit; TTL.
    if (p[1] != q[1] || (p[6] >> 5) != (q[6] >> 5) || p[8] != q[8]) return false;
  }
  const size_t options = t.ip_header + 20u;
  return std::memcmp(&p[options], &q[options], t.tcp_header - 20u) == 0;
}

bool TcpGro::add(MutableBytes packet) {
  if (full()) return false;
  const uint32_t index = static_cast<uint32_t>(packets_.size());
  packets_.push_back(packet);
  next_.push_back(kNone);

  Train c;
  if (!tcp_layout(packet, c.ip_header, c.tcp_header, c.v6)) {
    start_train(index, Train{});  // not TCP as GRO knows it: alone, closed
    return true;
  }
  const bool join = coalescible(packet, c.ip_header, c.tcp_header, c.v6);
  const size_t mask = slots_.size() - 1;
  size_t i = flow_hash(packet, c.v6, c.ip_header) & mask;
  for (; slots_[i].generation == generation_; i = (i + 1) & mask) {
    Train& t = trains_[slots_[i].train];
    if (!same_flow(t, packet)) continue;
    if (!join) {
      // A FIN, a pure ACK, a bad checksum: nothing of its flow may overtake it.
      t.closed = true;
      break;
    }
    c.segment_size = static_cast<uint16_t>(packet.size() - c.ip_header - c.tcp_header);
    if (can_follow(t, packet, c, be32(&packet[c.ip_header + 4]))) {
      const bool psh = packet[c.ip_header + 13] & kTcpPsh;
      next_[t.last] = index;
      t.last = index;
      ++t.count;
      t.next_seq += c.segment_size;
      t.length += c.segment_size;
      t.psh = psh;
      // After PSH or a short packet the train ends.
      if (psh || c.segment_size < t.segment_size) t.closed = true;
      return true;
    }
    break;  // the flow's latest train cannot take it: this packet starts the next one
  }
  if (!join) {
    start_train(index, Train{});
    return true;
  }
  const bool psh = packet[c.ip_header + 13] & kTcpPsh;
  c.segment_size = static_cast<uint16_t>(packet.size() - c.ip_header - c.tcp_header);
  c.next_seq = be32(&packet[c.ip_header + 4]) + c.segment_size;
  c.length = static_cast<uint32_t>(packet.size());
  c.psh = psh;
  c.closed = psh;
  slots_[i] = Slot{generation_, start_train(index, c)};
  return true;
}

void TcpGro::seal(Train& t, FrameRef& f) {
  MutableBytes p = packets_[t.first];
  const size_t ip = t.ip_header;
  if (t.v6) {
    put_be16(&p[4], t.length - 40);
  } else {
    put_be16(&p[2], t.length);
    p[10] = 0;
    p[11] = 0;
    put_be16(&p[10], checksum_finish(checksum_add(p.first(20))));
  }
  if (t.psh) p[ip + 13] |= kTcpPsh;
  // A partial checksum: the pseudo-header sum, which the kernel completes (or trusts).
  const uint32_t l4 = t.length - static_cast<uint32_t>(ip);
  put_be16(&p[ip + 16], checksum_fold(transport_pseudo_sum(p, t.v6, l4)));
  f.header.flags = kVirtioNetNeedsCsum;
  f.header.gso_type = t.v6 ? kVirtioNetGsoTcpV6 : kVirtioNetGsoTcpV4;
  f.header.hdr_len = static_cast<uint16_t>(ip + t.tcp_header);
  f.header.gso_size = t.segment_size;
  f.header.csum_start = static_cast<uint16_t>(ip);
  f.header.csum_offset = 16;
}

void TcpGro::finish() {
  parts_.clear();
  frames_.clear();
  for (Train& t : trains_) {
    FrameRef f;
    f.first_part = static_cast<uint32_t>(parts_.size());
    f.packets = t.count;
    if (t.count > 1) seal(t, f);
    parts_.push_back(packets_[t.first]);
    const size_t headers = size_t{t.ip_header} + t.tcp_header;
    for (uint32_t k = next_[t.first]; k != kNone; k = next_[k])
      parts_.push_back(Bytes(packets_[k]).subspan(headers));
    f.parts = static_cast<uint32_t>(parts_.size()) - f.first_part;
    frames_.push_back(f);
  }
}

TcpGro::Frame TcpGro::frame(size_t i) const {
  const FrameRef& f = frames_[i];
  return Frame{f.header, std::span<const Bytes>(parts_.data() + f.first_part, f.parts), f.packets};
}

}  // namespace tern::wire

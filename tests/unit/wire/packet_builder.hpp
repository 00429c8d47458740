// Test helper: IPv4/IPv6 TCP and UDP packets built field by field, with checksums from a slow
// reference (16-bit big-endian words, folded at the end) that shares no code with
// wire/checksum. The offload tests compare the fast code's output with packets built here.
#pragma once

#include <cstdint>
#include <vector>

#include "base/bytes.hpp"

namespace tern::wire::test {

inline uint32_t ref_sum(const uint8_t* p, size_t n, uint32_t sum = 0) {
  for (size_t i = 0; i + 1 < n; i += 2)
    sum += uint32_t{p[i]} << 8 | p[i + 1];
  if (n % 2) sum += uint32_t{p[n - 1]} << 8;
  return sum;
}

inline uint16_t ref_fold(uint32_t sum) {
  while (sum >> 16)
    sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(sum);
}

struct L4Spec {
  bool v6 = false;
  bool tcp = true;
  uint8_t src[16] = {10, 0, 0, 1};
  uint8_t dst[16] = {10, 0, 0, 2};
  uint16_t sport = 40000, dport = 5201;
  uint32_t seq = 1000, ack = 2000;
  uint8_t flags = 0x10;  // ACK
  uint16_t window = 512;
  std::vector<uint8_t> options;  // TCP options, a multiple of 4 bytes
  uint8_t tos = 0;               // IPv4 TOS / IPv6 traffic class
  uint32_t flow_label = 0;
  uint8_t ttl = 64;
  uint16_t ip_id = 0x1234;
  bool df = true;
  std::vector<uint8_t> payload;
};

inline void put16(std::vector<uint8_t>& p, size_t at, uint32_t v) {
  p[at] = static_cast<uint8_t>(v >> 8);
  p[at + 1] = static_cast<uint8_t>(v);
}

inline void put32(std::vector<uint8_t>& p, size_t at, uint32_t v) {
  put16(p, at, v >> 16);
  put16(p, at + 2, v & 0xffff);
}

inline size_t ip_header_size(const L4Spec& s) {
  return s.v6 ? 40 : 20;
}

inline size_t l4_header_size(const L4Spec& s) {
  return s.tcp ? 20 + s.options.size() : 8;
}

// A complete packet with correct IPv4 header and transport checksums.
inline std::vector<uint8_t> build_packet(const L4Spec& s) {
  const size_t ih = ip_header_size(s), th = l4_header_size(s);
  const size_t total = ih + th + s.payload.size();
  std::vector<uint8_t> p(total, 0);
  const uint8_t proto = s.tcp ? 6 : 17;
  const size_t alen = s.v6 ? 16 : 4;
  if (s.v6) {
    p[0] = static_cast<uint8_t>(0x60 | (s.tos >> 4));
    p[1] = static_cast<uint8_t>((s.tos << 4) | ((s.flow_label >> 16) & 0x0f));
    put16(p, 2, s.flow_label & 0xffff);
    put16(p, 4, static_cast<uint32_t>(total - 40));
    p[6] = proto;
    p[7] = s.ttl;
    std::copy(s.src, s.src + 16, p.begin() + 8);
    std::copy(s.dst, s.dst + 16, p.begin() + 24);
  } else {
    p[0] = 0x45;
    p[1] = s.tos;
    put16(p, 2, static_cast<uint32_t>(total));
    put16(p, 4, s.ip_id);
    put16(p, 6, s.df ? 0x4000 : 0);
    p[8] = s.ttl;
    p[9] = proto;
    std::copy(s.src, s.src + 4, p.begin() + 12);
    std::copy(s.dst, s.dst + 4, p.begin() + 16);
    put16(p, 10, static_cast<uint16_t>(~ref_fold(ref_sum(p.data(), 20))));
  }
  put16(p, ih, s.sport);
  put16(p, ih + 2, s.dport);
  if (s.tcp) {
    put32(p, ih + 4, s.seq);
    put32(p, ih + 8, s.ack);
    p[ih + 12] = static_cast<uint8_t>((th / 4) << 4);
    p[ih + 13] = s.flags;
    put16(p, ih + 14, s.window);
    std::copy(s.options.begin(), s.options.end(), p.begin() + static_cast<long>(ih + 20));
  } else {
    put16(p, ih + 4, static_cast<uint32_t>(th + s.payload.size()));
  }
  std::copy(s.payload.begin(), s.payload.end(), p.begin() + static_cast<long>(ih + th));
  const size_t src_at = s.v6 ? 8 : 12;
  const size_t l4_len = total - ih;
  uint32_t sum = ref_sum(&p[src_at], 2 * alen);
  sum += proto + static_cast<uint32_t>(l4_len);
  sum = ref_sum(&p[ih], l4_len, sum);
  uint16_t c = static_cast<uint16_t>(~ref_fold(sum));
  if (!s.tcp && c == 0) c = 0xffff;
  put16(p, ih + (s.tcp ? 16 : 6), c);
  return p;
}

// True when the packet's transport checksum verifies (and, for IPv4, its header checksum).
inline bool checksums_valid(Bytes p) {
  const bool v6 = (p[0] >> 4) == 6;
  const size_t ih = v6 ? 40 : size_t{p[0] & 0x0fu} * 4;
  if (!v6 && ref_fold(ref_sum(p.data(), ih)) != 0xffff) return false;
  const uint8_t proto = v6 ? p[6] : p[9];
  const size_t src_at = v6 ? 8 : 12, alen = v6 ? 16 : 4;
  uint32_t sum = ref_sum(&p[src_at], 2 * alen);
  sum += proto + static_cast<uint32_t>(p.size() - ih);
  sum = ref_sum(&p[ih], p.size() - ih, sum);
  return ref_fold(sum) == 0xffff;
}

// The folded pseudo-header sum a partial (offloaded) checksum field holds.
inline uint16_t partial_pseudo(Bytes p) {
  const bool v6 = (p[0] >> 4) == 6;
  const size_t ih = v6 ? 40 : size_t{p[0] & 0x0fu} * 4;
  const uint8_t proto = v6 ? p[6] : p[9];
  const size_t src_at = v6 ? 8 : 12, alen = v6 ? 16 : 4;
  uint32_t sum = ref_sum(&p[src_at], 2 * alen);
  sum += proto + static_cast<uint32_t>(p.size() - ih);
  return ref_fold(sum);
}

inline std::vector<uint8_t> payload_pattern(size_t n, uint32_t seed) {
  std::vector<uint8_t> v(n);
  uint32_t x = seed * 2654435761u + 1;
  for (auto& b : v) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    b = static_cast<uint8_t>(x);
  }
  return v;
}

}  // namespace tern::wire::test

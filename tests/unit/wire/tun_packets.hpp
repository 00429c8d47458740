// Test helpers for the TUN-boundary functions: inner IPv4/IPv6 packets built byte by byte,
// and a slow, obviously correct Internet checksum (RFC 1071) to verify them against.
#pragma once

#include <cstdint>
#include <cstring>
#include <vector>

#include "base/ip.hpp"

namespace tern::wire::testing {

// RFC 1071 §4.1, word by word with end-around carry.
inline uint16_t slow_checksum(const std::vector<uint8_t>& data, uint32_t initial = 0) {
  uint32_t sum = initial;
  for (size_t i = 0; i < data.size(); i += 2) {
    uint32_t word = uint32_t{data[i]} << 8;
    if (i + 1 < data.size()) word |= data[i + 1];
    sum += word;
    while (sum >> 16)
      sum = (sum & 0xffff) + (sum >> 16);
  }
  return static_cast<uint16_t>(~sum);
}

inline std::vector<uint8_t> slice(const std::vector<uint8_t>& v, size_t from, size_t to) {
  return std::vector<uint8_t>(v.begin() + static_cast<ptrdiff_t>(from),
                              v.begin() + static_cast<ptrdiff_t>(to));
}

// The sum of the pseudo header (RFC 768 / RFC 8200 §8.1), not complemented, for slow_checksum.
inline uint32_t slow_pseudo_sum(const std::vector<uint8_t>& packet, uint8_t protocol,
                                size_t upper_length) {
  std::vector<uint8_t> ph;
  if ((packet[0] >> 4) == 4) {
    ph.insert(ph.end(), packet.begin() + 12, packet.begin() + 20);
    ph.push_back(0);
    ph.push_back(protocol);
    ph.push_back(static_cast<uint8_t>(upper_length >> 8));
    ph.push_back(static_cast<uint8_t>(upper_length));
  } else {
    ph.insert(ph.end(), packet.begin() + 8, packet.begin() + 40);
    for (int shift : {24, 16, 8, 0})
      ph.push_back(static_cast<uint8_t>(upper_length >> shift));
    ph.insert(ph.end(), {0, 0, 0, protocol});
  }
  return static_cast<uint16_t>(~slow_checksum(ph));
}

// True when the upper-layer checksum of `packet` verifies (upper layer at `offset`).
inline bool upper_checksum_ok(const std::vector<uint8_t>& packet, size_t offset, uint8_t protocol,
                              bool with_pseudo = true) {
  const std::vector<uint8_t> upper = slice(packet, offset, packet.size());
  const uint32_t initial = with_pseudo ? slow_pseudo_sum(packet, protocol, upper.size()) : 0;
  return slow_checksum(upper, initial) == 0;
}

struct Ipv4Options {
  bool dont_fragment = true;
  uint16_t fragment_offset = 0;  // in 8-byte units
  bool more_fragments = false;
  std::vector<uint8_t> options;  // a multiple of 4 bytes
  uint16_t id = 0x1234;
};

// An IPv4 packet with a valid header checksum around `payload`.
inline std::vector<uint8_t> ipv4(const char* src, const char* dst, uint8_t protocol,
                                 const std::vector<uint8_t>& payload, const Ipv4Options& o = {}) {
  const size_t ihl = 20 + o.options.size();
  std::vector<uint8_t> p(ihl + payload.size());
  p[0] = static_cast<uint8_t>(0x40 | (ihl / 4));
  p[2] = static_cast<uint8_t>(p.size() >> 8);
  p[3] = static_cast<uint8_t>(p.size());
  p[4] = static_cast<uint8_t>(o.id >> 8);
  p[5] = static_cast<uint8_t>(o.id);
  const uint16_t frag = static_cast<uint16_t>((o.dont_fragment ? 0x4000 : 0) |
                                              (o.more_fragments ? 0x2000 : 0) | o.fragment_offset);
  p[6] = static_cast<uint8_t>(frag >> 8);
  p[7] = static_cast<uint8_t>(frag);
  p[8] = 64;
  p[9] = protocol;
  const IpAddress s = *IpAddress::parse(src), d = *IpAddress::parse(dst);
  std::memcpy(&p[12], s.data(), 4);
  std::memcpy(&p[16], d.data(), 4);
  std::copy(o.options.begin(), o.options.end(), p.begin() + 20);
  const uint16_t c = slow_checksum(slice(p, 0, ihl));
  p[10] = static_cast<uint8_t>(c >> 8);
  p[11] = static_cast<uint8_t>(c);
  std::copy(payload.begin(), payload.end(), p.begin() + static_cast<ptrdiff_t>(ihl));
  return p;
}

// An IPv6 packet; `extensions` go between the header and the payload, and `first_next` is
// the Next Header of the fixed header (the protocol when there are no extensions).
inline std::vector<uint8_t> ipv6(const char* src, const char* dst, uint8_t first_next,
                                 const std::vector<uint8_t>& payload,
                                 const std::vector<uint8_t>& extensions = {}) {
  std::vector<uint8_t> p(40);
  p[0] = 0x60;
  const size_t plen = extensions.size() + payload.size();
  p[4] = static_cast<uint8_t>(plen >> 8);
  p[5] = static_cast<uint8_t>(plen);
  p[6] = first_next;
  p[7] = 64;
  const IpAddress s = *IpAddress::parse(src), d = *IpAddress::parse(dst);
  std::memcpy(&p[8], s.data(), 16);
  std::memcpy(&p[24], d.data(), 16);
  p.insert(p.end(), extensions.begin(), extensions.end());
  p.insert(p.end(), payload.begin(), payload.end());
  return p;
}

// A TCP header (+ `options`, a multiple of 4) and `data`; the checksum is filled by
// fix_upper_checksum once the IP header exists.
inline std::vector<uint8_t> tcp(uint8_t flags, const std::vector<uint8_t>& options,
                                size_t data_size = 0) {
  std::vector<uint8_t> t(20 + options.size() + data_size);
  t[0] = 0x30;  // port 12345
  t[1] = 0x39;
  t[2] = 0x01;  // port 443
  t[3] = 0xbb;
  t[4] = 0xde;  // sequence number
  t[7] = 0x01;
  t[12] = static_cast<uint8_t>(((20 + options.size()) / 4) << 4);
  t[13] = flags;
  t[14] = 0xff;  // window
  t[15] = 0xff;
  std::copy(options.begin(), options.end(), t.begin() + 20);
  for (size_t i = 0; i < data_size; ++i)
    t[20 + options.size() + i] = static_cast<uint8_t>(i * 7 + 3);
  return t;
}

// Writes a valid checksum into the upper layer at `offset` (checksum field at `field`).
inline void fix_upper_checksum(std::vector<uint8_t>& packet, size_t offset, size_t field,
                               uint8_t protocol, bool with_pseudo = true) {
  packet[offset + field] = packet[offset + field + 1] = 0;
  const std::vector<uint8_t> upper = slice(packet, offset, packet.size());
  const uint32_t initial = with_pseudo ? slow_pseudo_sum(packet, protocol, upper.size()) : 0;
  const uint16_t c = slow_checksum(upper, initial);
  packet[offset + field] = static_cast<uint8_t>(c >> 8);
  packet[offset + field + 1] = static_cast<uint8_t>(c);
}

}  // namespace tern::wire::testing

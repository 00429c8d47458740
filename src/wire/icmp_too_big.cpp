#include "wire/icmp_too_big.hpp"

#include <algorithm>
#include <cstring>
#include <optional>

#include "wire/checksum.hpp"
#include "wire/ip_upper_layer.hpp"

namespace tern::wire {
namespace {

inline constexpr size_t kIpv4Header = 20;
inline constexpr size_t kIpv6Header = 40;
inline constexpr size_t kIcmpHeader = 8;
inline constexpr uint8_t kDefaultTtl = 64;

void put16(uint8_t* p, uint32_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}

bool ipv4_source_ok(const uint8_t* a) {
  // Not 0/8 ("this network"), 127/8 (loopback) or 224/3 (multicast and class E).
  return a[0] != 0 && a[0] != 127 && a[0] < 224;
}

bool ipv4_destination_ok(const uint8_t* a) {
  const bool broadcast = a[0] == 255 && a[1] == 255 && a[2] == 255 && a[3] == 255;
  return !broadcast && (a[0] & 0xf0) != 224;
}

bool ipv6_source_ok(const uint8_t* a) {
  static constexpr uint8_t kZero[16] = {};
  const bool unspecified = std::memcmp(a, kZero, 16) == 0;
  const bool loopback = std::memcmp(a, kZero, 15) == 0 && a[15] == 1;
  return !unspecified && !loopback && a[0] != 0xff;
}

// ICMPv4 types that are error messages (RFC 792, RFC 1122 §3.2.2).
bool is_icmpv4_error(uint8_t type) {
  return type == 3 || type == 4 || type == 5 || type == 11 || type == 12;
}

size_t build_v4(Bytes p, const UpperLayer& u, size_t mtu, MutableBytes out) {
  const bool dont_fragment = (p[6] & 0x40) != 0;
  if (!dont_fragment || mtu < 68 || !u.first_fragment) return 0;
  if (!ipv4_source_ok(&p[12]) || !ipv4_destination_ok(&p[16])) return 0;
  if (u.protocol == kProtoIcmp) {
    if (u.offset >= u.total_length || is_icmpv4_error(p[u.offset])) return 0;
  }
  const size_t quote = std::min(u.total_length, kIcmpv4ErrorLimit - kIpv4Header - kIcmpHeader);
  const size_t total = kIpv4Header + kIcmpHeader + quote;
  if (out.size() < total) return 0;
  uint8_t* ip = out.data();
  std::memset(ip, 0, kIpv4Header + kIcmpHeader);
  ip[0] = 0x45;
  put16(ip + 2, static_cast<uint32_t>(total));
  ip[8] = kDefaultTtl;
  ip[9] = kProtoIcmp;
  std::memcpy(ip + 12, &p[16], 4);  // from the original destination
  std::memcpy(ip + 16, &p[12], 4);  // to the original source
  put16(ip + 10, checksum_finish(checksum_add(Bytes(ip, kIpv4Header))));

  uint8_t* icmp = ip + kIpv4Header;
  icmp[0] = 3;
  icmp[1] = 4;
  put16(icmp + 6, static_cast<uint32_t>(std::min<size_t>(mtu, 0xffff)));
  std::memcpy(icmp + kIcmpHeader, p.data(), quote);
  put16(icmp + 2, checksum_finish(checksum_add(Bytes(icmp, kIcmpHeader + quote))));
  return total;
}

size_t build_v6(Bytes p, const UpperLayer& u, size_t mtu, MutableBytes out) {
  if (mtu < 1280 || !ipv6_source_ok(&p[8])) return 0;
  if (u.protocol == kProtoIcmpv6 && u.first_fragment) {
    if (u.offset >= u.total_length || p[u.offset] < 128) return 0;  // types 0..127 are errors
  }
  const size_t quote = std::min(u.total_length, kIcmpv6ErrorLimit - kIpv6Header - kIcmpHeader);
  const size_t icmp_length = kIcmpHeader + quote;
  const size_t total = kIpv6Header + icmp_length;
  if (out.size() < total) return 0;
  uint8_t* ip = out.data();
  std::memset(ip, 0, kIpv6Header + kIcmpHeader);
  ip[0] = 0x60;
  put16(ip + 4, static_cast<uint32_t>(icmp_length));
  ip[6] = kProtoIcmpv6;
  ip[7] = kDefaultTtl;
  std::memcpy(ip + 8, &p[24], 16);  // from the original destination
  std::memcpy(ip + 24, &p[8], 16);  // to the original source

  uint8_t* icmp = ip + kIpv6Header;
  icmp[0] = 2;
  const uint32_t mtu32 = static_cast<uint32_t>(std::min<size_t>(mtu, 0xffffffffu));
  put16(icmp + 4, mtu32 >> 16);
  put16(icmp + 6, mtu32 & 0xffff);
  std::memcpy(icmp + kIcmpHeader, p.data(), quote);
  uint64_t sum = pseudo_header_sum(Bytes(ip + 8, 16), Bytes(ip + 24, 16), kProtoIcmpv6,
                                   static_cast<uint32_t>(icmp_length));
  sum = checksum_add(Bytes(icmp, icmp_length), sum);
  put16(icmp + 2, checksum_finish(sum));
  return total;
}

}  // namespace

size_t build_packet_too_big(Bytes packet, size_t mtu, MutableBytes out) {
  const std::optional<UpperLayer> u = find_upper_layer(packet);
  if (!u || u->total_length <= mtu) return 0;
  return u->is_v6 ? build_v6(packet, *u, mtu, out) : build_v4(packet, *u, mtu, out);
}

}  // namespace tern::wire

#include "wire/ip_packet.hpp"

#include <array>
#include <cstring>

namespace tern::wire {
namespace {

IpAddress v4_at(const uint8_t* p) {
  return IpAddress::v4({p[0], p[1], p[2], p[3]});
}

IpAddress v6_at(const uint8_t* p) {
  std::array<uint8_t, 16> b;
  std::memcpy(b.data(), p, 16);
  return IpAddress::v6(b);
}

}  // namespace

std::optional<IpPacketInfo> parse_ip_packet(Bytes packet) {
  if (packet.empty()) return std::nullopt;
  const uint8_t version = packet[0] >> 4;
  if (version == 4) {
    if (packet.size() < kIpv4MinHeader) return std::nullopt;
    const size_t ihl = size_t{packet[0] & 0x0fu} * 4;
    const size_t total = (size_t{packet[2]} << 8) | packet[3];
    if (ihl < kIpv4MinHeader || total < ihl || total > packet.size()) return std::nullopt;
    return IpPacketInfo{v4_at(&packet[12]), v4_at(&packet[16]), total};
  }
  if (version == 6) {
    if (packet.size() < kIpv6Header) return std::nullopt;
    const size_t total = kIpv6Header + ((size_t{packet[4]} << 8) | packet[5]);
    if (total > packet.size()) return std::nullopt;
    return IpPacketInfo{v6_at(&packet[8]), v6_at(&packet[24]), total};
  }
  return std::nullopt;
}

std::optional<IpAddress> ip_destination(Bytes packet) {
  if (packet.empty()) return std::nullopt;
  const uint8_t version = packet[0] >> 4;
  if (version == 4 && packet.size() >= kIpv4MinHeader) return v4_at(&packet[16]);
  if (version == 6 && packet.size() >= kIpv6Header) return v6_at(&packet[24]);
  return std::nullopt;
}

}  // namespace tern::wire

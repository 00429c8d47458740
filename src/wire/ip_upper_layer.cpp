#include "wire/ip_upper_layer.hpp"

namespace tern::wire {
namespace {

inline constexpr uint8_t kHopByHop = 0;
inline constexpr uint8_t kRouting = 43;
inline constexpr uint8_t kFragment = 44;
inline constexpr uint8_t kAuthentication = 51;
inline constexpr uint8_t kDestinationOptions = 60;
// More than this many extension headers is not a packet worth walking.
inline constexpr int kMaxExtensionHeaders = 8;

uint16_t be16(Bytes p, size_t at) {
  return static_cast<uint16_t>((p[at] << 8) | p[at + 1]);
}

std::optional<UpperLayer> ipv4(Bytes p) {
  if (p.size() < 20) return std::nullopt;
  UpperLayer u;
  u.header_length = size_t{p[0] & 0x0fu} * 4;
  u.total_length = be16(p, 2);
  if (u.header_length < 20 || u.total_length < u.header_length || u.total_length > p.size()) {
    return std::nullopt;
  }
  const uint16_t frag = be16(p, 6);
  u.first_fragment = (frag & 0x1fff) == 0;
  u.more_fragments = (frag & 0x2000) != 0;
  u.protocol = p[9];
  u.offset = u.header_length;
  return u;
}

std::optional<UpperLayer> ipv6(Bytes p) {
  if (p.size() < 40) return std::nullopt;
  UpperLayer u;
  u.is_v6 = true;
  u.total_length = 40 + size_t{be16(p, 4)};
  if (u.total_length == 40 && p[6] == kHopByHop) return std::nullopt;  // maybe a jumbogram
  if (u.total_length > p.size()) return std::nullopt;
  uint8_t next = p[6];
  size_t at = 40;
  for (int i = 0; i <= kMaxExtensionHeaders; ++i) {
    size_t length = 0;
    switch (next) {
      case kHopByHop:
      case kRouting:
      case kDestinationOptions:
        if (at + 2 > u.total_length) return std::nullopt;
        length = (size_t{p[at + 1]} + 1) * 8;
        break;
      case kAuthentication:
        if (at + 2 > u.total_length) return std::nullopt;
        length = (size_t{p[at + 1]} + 2) * 4;
        break;
      case kFragment:
        if (at + 8 > u.total_length) return std::nullopt;
        length = 8;
        u.first_fragment = (be16(p, at + 2) & 0xfff8) == 0;
        u.more_fragments = (p[at + 3] & 1) != 0;
        break;
      default:
        u.protocol = next;
        u.header_length = at;
        u.offset = at;
        return u;
    }
    if (at + length > u.total_length) return std::nullopt;
    next = p[at];
    at += length;
  }
  return std::nullopt;
}

}  // namespace

std::optional<UpperLayer> find_upper_layer(Bytes packet) {
  if (packet.empty()) return std::nullopt;
  switch (packet[0] >> 4) {
    case 4:
      return ipv4(packet);
    case 6:
      return ipv6(packet);
    default:
      return std::nullopt;
  }
}

}  // namespace tern::wire

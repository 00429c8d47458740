#include "relay/peer_policy.hpp"

#include <array>
#include <utility>

namespace tern::relay {
namespace {

std::optional<PeerClass> ipv4_class(uint32_t a) {
  if ((a >> 24) == 0) return PeerClass::kUnspecified;
  if ((a >> 24) == 127) return PeerClass::kLoopback;
  if ((a >> 24) == 10 || (a & 0xFFF00000) == 0xAC100000 || (a & 0xFFFF0000) == 0xC0A80000) {
    return PeerClass::kPrivate;
  }
  if ((a & 0xFFFF0000) == 0xA9FE0000) return PeerClass::kLinkLocal;
  if ((a & 0xFFC00000) == 0x64400000) return PeerClass::kCgnat;
  if ((a & 0xF0000000) == 0xE0000000) return PeerClass::kMulticast;
  if (a == 0xFFFFFFFF) return PeerClass::kBroadcast;
  return std::nullopt;
}

bool all_zero(const uint8_t* p, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    if (p[i] != 0) return false;
  }
  return true;
}

}  // namespace

std::string_view peer_class_name(PeerClass c) {
  switch (c) {
    case PeerClass::kUnspecified:
      return "unspecified";
    case PeerClass::kLoopback:
      return "loopback";
    case PeerClass::kPrivate:
      return "private";
    case PeerClass::kLinkLocal:
      return "link_local";
    case PeerClass::kCgnat:
      return "cgnat";
    case PeerClass::kMulticast:
      return "multicast";
    case PeerClass::kBroadcast:
      return "broadcast";
    case PeerClass::kDenied:
      return "denied";
  }
  return "unknown";
}

std::optional<IpAddress> embedded_ipv4(const IpAddress& a) {
  if (!a.is_v6()) return std::nullopt;
  const uint8_t* b = a.data();
  const auto inner = [b] { return IpAddress::v4({b[12], b[13], b[14], b[15]}); };
  // ::ffff:a.b.c.d (RFC 4291 §2.5.5.2): a dual-stack socket sends it as IPv4.
  if (all_zero(b, 10) && b[10] == 0xFF && b[11] == 0xFF) return inner();
  // 64:ff9b::/96 (RFC 6052): a NAT64 gateway turns it into a.b.c.d.
  if (b[0] == 0x00 && b[1] == 0x64 && b[2] == 0xFF && b[3] == 0x9B && all_zero(b + 4, 8)) {
    return inner();
  }
  // ::a.b.c.d, IPv4-compatible (deprecated); :: and ::1 are IPv6's own.
  if (all_zero(b, 12) && !(all_zero(b + 12, 3) && b[15] <= 1)) return inner();
  return std::nullopt;
}

std::optional<PeerClass> special_address_class(const IpAddress& a) {
  if (a.is_v4()) return ipv4_class(a.v4_host_order());
  const uint8_t* b = a.data();
  if (all_zero(b, 15)) {
    if (b[15] == 0) return PeerClass::kUnspecified;
    if (b[15] == 1) return PeerClass::kLoopback;
  }
  if (const auto inner = embedded_ipv4(a)) return ipv4_class(inner->v4_host_order());
  // fc00::/7 ULA; fec0::/10 site-local (deprecated, still routed inside some sites);
  // 64:ff9b:1::/48, NAT64 for local use (RFC 8215), which reaches private IPv4.
  if ((b[0] & 0xFE) == 0xFC || (b[0] == 0xFE && (b[1] & 0xC0) == 0xC0) ||
      (b[0] == 0x00 && b[1] == 0x64 && b[2] == 0xFF && b[3] == 0x9B && b[4] == 0x00 &&
       b[5] == 0x01)) {
    return PeerClass::kPrivate;
  }
  if (b[0] == 0xFE && (b[1] & 0xC0) == 0x80) return PeerClass::kLinkLocal;
  if (b[0] == 0xFF) return PeerClass::kMulticast;
  return std::nullopt;
}

PeerPolicy::PeerPolicy(std::vector<IpPrefix> allowed, std::vector<IpPrefix> denied)
    : allowed_(std::move(allowed)), denied_(std::move(denied)) {}

bool PeerPolicy::matches(const std::vector<IpPrefix>& list, const IpAddress& a,
                         const std::optional<IpAddress>& inner) {
  for (const auto& p : list) {
    if (p.contains(a) || (inner && p.contains(*inner))) return true;
  }
  return false;
}

std::optional<PeerClass> PeerPolicy::refusal(const IpAddress& peer) const {
  const auto inner = embedded_ipv4(peer);
  if (matches(allowed_, peer, inner)) return std::nullopt;
  if (matches(denied_, peer, inner)) return PeerClass::kDenied;
  return special_address_class(peer);
}

}  // namespace tern::relay

#include "agent/control_endpoints.hpp"

#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>

#include <algorithm>
#include <array>
#include <cstring>

namespace tern::agent {
namespace {

bool usable(const IpAddress& a, const std::vector<IpPrefix>& overlay) {
  if (a.is_unspecified()) return false;
  const uint8_t* b = a.data();
  if (a.is_v4() && b[0] == 127) return false;
  if (a.is_v6()) {
    static constexpr std::array<uint8_t, 16> kLoopback{0, 0, 0, 0, 0, 0, 0, 0,
                                                       0, 0, 0, 0, 0, 0, 0, 1};
    if (std::memcmp(b, kLoopback.data(), 16) == 0) return false;
    if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) return false;  // fe80::/10
  }
  return std::none_of(overlay.begin(), overlay.end(),
                      [&](const IpPrefix& p) { return p.contains(a); });
}

}  // namespace

std::vector<Endpoint> host_endpoints(const std::string& tunnel_interface, uint16_t port,
                                     const std::vector<IpPrefix>& overlay) {
  std::vector<Endpoint> out;
  ifaddrs* list = nullptr;
  if (::getifaddrs(&list) != 0) return out;
  for (ifaddrs* i = list; i != nullptr; i = i->ifa_next) {
    if (!i->ifa_addr || !(i->ifa_flags & IFF_UP) || (i->ifa_flags & IFF_LOOPBACK)) continue;
    if (tunnel_interface == i->ifa_name) continue;
    std::optional<IpAddress> a;
    if (i->ifa_addr->sa_family == AF_INET) {
      std::array<uint8_t, 4> b{};
      std::memcpy(b.data(), &reinterpret_cast<const sockaddr_in*>(i->ifa_addr)->sin_addr, 4);
      a = IpAddress::v4(b);
    } else if (i->ifa_addr->sa_family == AF_INET6) {
      std::array<uint8_t, 16> b{};
      std::memcpy(b.data(), &reinterpret_cast<const sockaddr_in6*>(i->ifa_addr)->sin6_addr, 16);
      a = IpAddress::v6(b);
    }
    if (!a || !usable(*a, overlay)) continue;
    Endpoint e{*a, port};
    if (std::find(out.begin(), out.end(), e) == out.end()) out.push_back(e);
  }
  ::freeifaddrs(list);
  // IPv4 first: the first endpoint is the one peers try (control/agent_map.hpp).
  std::stable_sort(out.begin(), out.end(), [](const Endpoint& x, const Endpoint& y) {
    return x.address.is_v4() && !y.address.is_v4();
  });
  return out;
}

}  // namespace tern::agent

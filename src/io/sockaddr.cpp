#include "io/sockaddr.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <array>
#include <cstring>

namespace tern::io {

socklen_t to_sockaddr(const Endpoint& ep, bool v6_socket, sockaddr_storage& out) {
  std::memset(&out, 0, sizeof out);
  IpAddress addr = ep.address.unmapped();
  if (v6_socket) {
    auto& sin6 = reinterpret_cast<sockaddr_in6&>(out);
    sin6.sin6_family = AF_INET6;
    sin6.sin6_port = htons(ep.port);
    if (addr.is_v4()) {
      sin6.sin6_addr.s6_addr[10] = 0xff;
      sin6.sin6_addr.s6_addr[11] = 0xff;
      std::memcpy(&sin6.sin6_addr.s6_addr[12], addr.data(), 4);
    } else {
      std::memcpy(&sin6.sin6_addr, addr.data(), 16);
    }
    return sizeof(sockaddr_in6);
  }
  if (!addr.is_v4()) return 0;
  auto& sin = reinterpret_cast<sockaddr_in&>(out);
  sin.sin_family = AF_INET;
  sin.sin_port = htons(ep.port);
  std::memcpy(&sin.sin_addr, addr.data(), 4);
  return sizeof(sockaddr_in);
}

Endpoint from_sockaddr(const sockaddr_storage& in) {
  if (in.ss_family == AF_INET) {
    const auto& sin = reinterpret_cast<const sockaddr_in&>(in);
    std::array<uint8_t, 4> b{};
    std::memcpy(b.data(), &sin.sin_addr, 4);
    return Endpoint{IpAddress::v4(b), ntohs(sin.sin_port)};
  }
  if (in.ss_family == AF_INET6) {
    const auto& sin6 = reinterpret_cast<const sockaddr_in6&>(in);
    std::array<uint8_t, 16> b{};
    std::memcpy(b.data(), &sin6.sin6_addr, 16);
    return Endpoint{IpAddress::v6(b).unmapped(), ntohs(sin6.sin6_port)};
  }
  return Endpoint{};
}

}  // namespace tern::io

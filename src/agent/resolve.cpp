#include "agent/resolve.hpp"

#include <arpa/inet.h>
#include <netdb.h>
#include <sys/socket.h>

#include <cstring>

namespace tern::agent {

Result<Endpoint> resolve_endpoint(const std::string& text) {
  if (auto literal = Endpoint::parse(text)) return *literal;
  std::string host;
  std::string port;
  if (!text.empty() && text.front() == '[') {
    size_t close = text.find(']');
    if (close == std::string::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return fail("endpoint '" + text + "' is not HOST:PORT; write IPv6 as [ADDRESS]:PORT");
    }
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    size_t colon = text.rfind(':');
    if (colon == std::string::npos) {
      return fail("endpoint '" + text + "' has no port; write it as HOST:PORT, e.g. " + text +
                  ":51820");
    }
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
  }
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_DGRAM;
  hints.ai_protocol = IPPROTO_UDP;
  addrinfo* result = nullptr;
  int rc = getaddrinfo(host.c_str(), port.c_str(), &hints, &result);
  if (rc != 0) {
    return fail("cannot resolve endpoint '" + text + "': " + gai_strerror(rc) +
                "; check the name or use an IP address");
  }
  Endpoint e;
  bool found = false;
  for (addrinfo* ai = result; ai && !found; ai = ai->ai_next) {
    if (ai->ai_family == AF_INET) {
      auto* sin = reinterpret_cast<sockaddr_in*>(ai->ai_addr);
      std::array<uint8_t, 4> b;
      std::memcpy(b.data(), &sin->sin_addr, 4);
      e = Endpoint{IpAddress::v4(b), ntohs(sin->sin_port)};
      found = true;
    } else if (ai->ai_family == AF_INET6) {
      auto* sin6 = reinterpret_cast<sockaddr_in6*>(ai->ai_addr);
      std::array<uint8_t, 16> b;
      std::memcpy(b.data(), &sin6->sin6_addr, 16);
      e = Endpoint{IpAddress::v6(b), ntohs(sin6->sin6_port)};
      found = true;
    }
  }
  freeaddrinfo(result);
  if (!found) return fail("endpoint '" + text + "' resolved to no IPv4 or IPv6 address");
  return e;
}

}  // namespace tern::agent

// Conversions between tern::Endpoint and the kernel's sockaddr (internal to io/).
#pragma once

#include <sys/socket.h>

#include "base/ip.hpp"

namespace tern::io {

// Fills `out` for a socket of the given family (an IPv4 endpoint becomes v4-mapped on an IPv6
// socket). Returns the address length, or 0 when the endpoint cannot be reached from such a
// socket (an IPv6 endpoint on an IPv4 socket).
socklen_t to_sockaddr(const Endpoint& ep, bool v6_socket, sockaddr_storage& out);
// The endpoint in `in`, with v4-mapped IPv6 addresses unmapped; a zero endpoint for other
// families.
Endpoint from_sockaddr(const sockaddr_storage& in);

}  // namespace tern::io

// The endpoints an agent reports to its control server: each address of this host's other
// interfaces with the WireGuard listen port. Loopback, link-local IPv6, the tunnel's own
// interface and addresses inside the overlay are left out: no peer could use them.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/ip.hpp"

namespace tern::agent {

[[nodiscard]] std::vector<Endpoint> host_endpoints(const std::string& tunnel_interface,
                                                   uint16_t port,
                                                   const std::vector<IpPrefix>& overlay);

}  // namespace tern::agent

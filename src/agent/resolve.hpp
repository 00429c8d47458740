// Turns an Endpoint text from a config file ("host:port", "[v6]:port", or a
// name) into an address, as `wg` does: the first address getaddrinfo returns.
#pragma once

#include <string>

#include "base/ip.hpp"
#include "base/result.hpp"

namespace tern::agent {

[[nodiscard]] Result<Endpoint> resolve_endpoint(const std::string& text);

}  // namespace tern::agent

// The client side of tern's status request, an extension of the WireGuard UAPI:
// a tern agent answers "get=tern-status" on its UAPI socket with one line
// "status=<JSON>" then "errno=0" and an empty line. Other UAPI servers
// (wireguard-go) do not know the request; they are reported as not tern.
#pragma once

#include <string>
#include <vector>

#include "agent/status.hpp"
#include "base/result.hpp"

namespace tern::agent {

inline constexpr char kStatusRequest[] = "get=tern-status";

[[nodiscard]] Result<InterfaceStatus> query_status(const std::string& socket_path);
// The interfaces with a UAPI socket in `socket_dir`, sorted by name.
std::vector<std::string> list_interfaces(const std::string& socket_dir);

}  // namespace tern::agent

// The client side of the WireGuard UAPI "get=1" (docs/uapi.md): what `tern doctor wg` reads
// from a userspace interface (wireguard-go, NetBird's userspace mode, tern) through
// /var/run/wireguard/IFACE.sock. The parser is a pure function of the reply text, fuzzed,
// since the socket's server is another program.
#pragma once

#include <string>
#include <string_view>

#include "base/result.hpp"
#include "uapi/get.hpp"

namespace tern::doctor {

// Room for tens of thousands of peers, and no more.
inline constexpr size_t kMaxUapiReply = 16 * 1024 * 1024;

// Reads "key=value" lines up to the "errno=N" line; fails on errno != 0, on a line without
// '=', on a value that does not parse, and on a reply without the errno line.
[[nodiscard]] Result<uapi::DeviceSnapshot> parse_uapi_get(std::string_view reply);

// Connects to `socket_path`, sends "get=1", reads the reply (3 s at most) and parses it.
[[nodiscard]] Result<uapi::DeviceSnapshot> query_uapi(const std::string& socket_path);

}  // namespace tern::doctor

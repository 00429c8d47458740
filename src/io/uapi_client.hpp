// The client side of a WireGuard UAPI socket, as `wg` uses it: one request, one reply. The
// request ends with an empty line and so does the reply (after "errno=N" for get/set, after
// tern's "status=..." line for get=tern-status). Each wait is bounded, so a socket nobody
// serves cannot hang the caller.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "base/result.hpp"

namespace tern::io {

// Sends `request` (which must end with "\n\n") to the socket at `socket_path` and returns
// everything read up to and including the reply's empty line, or up to the server closing.
// Fails naming the socket when it cannot connect, a wait exceeds `timeout_ms`, or the reply
// grows past `max_reply` bytes.
[[nodiscard]] Result<std::string> uapi_exchange(const std::string& socket_path,
                                                std::string_view request, size_t max_reply,
                                                int timeout_ms = 3000);

}  // namespace tern::io

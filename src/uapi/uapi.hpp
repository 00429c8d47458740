// The WireGuard cross-platform userspace API (https://www.wireguard.com/xplatform/),
// sans-I/O: the text protocol `wg` speaks over /var/run/wireguard/IFACE.sock.
// The agent owns the socket; it feeds bytes to a RequestFramer, answers "get=1"
// with format_get(), "set=1" with parse_set() and then format_errno().
#pragma once

#include "uapi/error.hpp"    // IWYU pragma: export
#include "uapi/get.hpp"      // IWYU pragma: export
#include "uapi/request.hpp"  // IWYU pragma: export
#include "uapi/set.hpp"      // IWYU pragma: export

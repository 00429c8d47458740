// Removing an interface address: what an agent does when its control server re-addresses it
// (io::Netlink adds addresses; taking one away is this rare one-off request on a short-lived
// rtnetlink socket of its own).
#pragma once

#include "base/ip.hpp"
#include "base/result.hpp"

namespace tern::io {

// Deletes `prefix` (address and prefix length) from the interface; with it goes the prefix
// route the kernel added for it. An address the interface does not have is not an error.
[[nodiscard]] Status delete_address(int ifindex, const IpPrefix& prefix);

}  // namespace tern::io

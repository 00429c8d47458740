// The receive side of a one-shot netlink request, shared by rtnl_dump.hpp and genl.hpp: every
// reply message to one sequence number until the end of a dump, the ACK or the kernel's error,
// bounded in time and in count.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "base/result.hpp"

namespace tern::io {

struct NetlinkAnswer {
  int error = 0;  // the request's errno from NLMSG_ERROR, 0 for an ACK or a complete dump
  std::vector<std::vector<uint8_t>> messages;  // each whole, nlmsghdr included
};

// Reads from netlink socket `fd` the messages answering `seq` (others are skipped) until
// NLMSG_DONE or NLMSG_ERROR. Fails when nothing comes for 3 s, on a read error, or past
// 2^20 messages; `what` names the request in those errors.
[[nodiscard]] Result<NetlinkAnswer> receive_netlink_answer(int fd, uint32_t seq,
                                                           std::string_view what);

}  // namespace tern::io

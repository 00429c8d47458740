// The receive side of a netlink request, shared by io::Netlink (netlink_conn.hpp), rtnl_dump.hpp
// and genl.hpp: every reply message to one sequence number until the end of a dump, the ACK or
// the kernel's error, bounded in time and in count.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "base/bytes.hpp"
#include "base/result.hpp"

namespace tern::io {

// How an answer ended.
struct NetlinkEnd {
  int error = 0;  // the request's errno from NLMSG_ERROR or NLMSG_DONE, 0 for an ACK or a dump
  // The kernel's own explanation of the error (the extended ACK's NLMSGERR_ATTR_MSG), when the
  // socket asked for one with NETLINK_EXT_ACK: "Invalid prefix for given prefix length".
  std::string kernel_text;
};

struct NetlinkAnswer : NetlinkEnd {
  std::vector<std::vector<uint8_t>> messages;  // each whole, nlmsghdr included
};

// Reads from netlink socket `fd` the messages answering `seq` (others are skipped) until
// NLMSG_DONE or NLMSG_ERROR, and hands every other one whole (nlmsghdr included, 4-byte
// aligned, valid during the call) to `on_message`. Fails when nothing comes for 3 s, on a read
// error or an overrun, or past 2^20 messages; `what` names the request in those errors.
[[nodiscard]] Result<NetlinkEnd> receive_netlink(int fd, uint32_t seq, std::string_view what,
                                                 const std::function<void(Bytes)>& on_message);

// receive_netlink() keeping a copy of every message.
[[nodiscard]] Result<NetlinkAnswer> receive_netlink_answer(int fd, uint32_t seq,
                                                           std::string_view what);

}  // namespace tern::io

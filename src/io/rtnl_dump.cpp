#include "io/rtnl_dump.hpp"

#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include <fmt/core.h>

#include "io/fd.hpp"
#include "io/netlink_receive.hpp"
#include "io/sys_error.hpp"

namespace tern::io {
namespace {

struct DumpRequest {
  nlmsghdr header;
  rtgenmsg body;
  uint8_t pad[3];
};

}  // namespace

Result<std::vector<std::vector<uint8_t>>> rtnl_dump(uint16_t type, uint8_t family) {
  UniqueFd fd(::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE));
  if (fd.get() < 0) return fail("opening an rtnetlink socket: " + errno_text(errno));
  sockaddr_nl local{};
  local.nl_family = AF_NETLINK;
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&local), sizeof local) != 0) {
    return fail("binding an rtnetlink socket: " + errno_text(errno));
  }
  constexpr uint32_t kSeq = 1;
  DumpRequest req{};
  req.header.nlmsg_len = NLMSG_LENGTH(sizeof(rtgenmsg));
  req.header.nlmsg_type = type;
  req.header.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  req.header.nlmsg_seq = kSeq;
  req.body.rtgen_family = family;
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  if (::sendto(fd.get(), &req, req.header.nlmsg_len, 0, reinterpret_cast<sockaddr*>(&kernel),
               sizeof kernel) < 0) {
    return fail(fmt::format("sending rtnetlink dump {}: {}", type, errno_text(errno)));
  }
  auto answer = receive_netlink_answer(fd.get(), kSeq, fmt::format("rtnetlink dump {}", type));
  if (!answer) return fail(answer.error().message);
  if (answer->error != 0) {
    return fail(fmt::format("rtnetlink dump {}: {}", type, errno_text(answer->error)));
  }
  return std::move(answer->messages);
}

}  // namespace tern::io

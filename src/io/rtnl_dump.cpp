#include "io/rtnl_dump.hpp"

#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include <fmt/core.h>

#include "io/fd.hpp"
#include "io/sys_error.hpp"

namespace tern::io {
namespace {

constexpr int kTimeoutMs = 3000;
constexpr size_t kBufferSize = 1 << 16;
// A dump bigger than this is not a machine's routing state.
constexpr size_t kMaxMessages = 1 << 20;

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
  std::vector<std::vector<uint8_t>> out;
  std::vector<uint8_t> buf(kBufferSize);
  for (;;) {
    pollfd p{fd.get(), POLLIN, 0};
    if (::poll(&p, 1, kTimeoutMs) <= 0) {
      return fail(fmt::format("rtnetlink dump {}: no end from the kernel", type));
    }
    const ssize_t n = ::recv(fd.get(), buf.data(), buf.size(), 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail(fmt::format("reading rtnetlink dump {}: {}", type, errno_text(errno)));
    }
    size_t pos = 0;
    const auto total = static_cast<size_t>(n);
    while (total - pos >= sizeof(nlmsghdr)) {
      nlmsghdr h{};
      std::memcpy(&h, buf.data() + pos, sizeof h);
      if (h.nlmsg_len < sizeof h || h.nlmsg_len > total - pos) break;
      const size_t len = h.nlmsg_len;
      if (h.nlmsg_seq == kSeq) {
        if (h.nlmsg_type == NLMSG_DONE) return out;
        if (h.nlmsg_type == NLMSG_ERROR) {
          nlmsgerr e{};
          if (len >= sizeof h + sizeof e) std::memcpy(&e, buf.data() + pos + sizeof h, sizeof e);
          if (e.error == 0) return out;
          return fail(fmt::format("rtnetlink dump {}: {}", type, errno_text(-e.error)));
        }
        if (out.size() >= kMaxMessages) return fail("rtnetlink dump: too many messages");
        out.emplace_back(buf.begin() + static_cast<std::ptrdiff_t>(pos),
                         buf.begin() + static_cast<std::ptrdiff_t>(pos + len));
      }
      pos += NLMSG_ALIGN(len);
    }
  }
}

}  // namespace tern::io

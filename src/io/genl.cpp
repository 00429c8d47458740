#include "io/genl.hpp"

#include <linux/netlink.h>
#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include "io/sys_error.hpp"

namespace tern::io {
namespace {

constexpr int kTimeoutMs = 3000;
constexpr size_t kBufferSize = 1 << 16;

std::string sys_error(const char* what) {
  return std::string(what) + ": " + errno_text(errno);
}

}  // namespace

Result<GenlSocket> GenlSocket::open() {
  UniqueFd fd(::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_GENERIC));
  if (fd.get() < 0) return fail(sys_error("opening a generic netlink socket"));
  sockaddr_nl local{};
  local.nl_family = AF_NETLINK;
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&local), sizeof local) != 0) {
    return fail(sys_error("binding a generic netlink socket"));
  }
  return GenlSocket(std::move(fd));
}

Result<GenlReply> GenlSocket::transact(Bytes request, uint32_t seq) {
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  if (::sendto(fd_.get(), request.data(), request.size(), 0, reinterpret_cast<sockaddr*>(&kernel),
               sizeof kernel) < 0) {
    return fail(sys_error("sending a generic netlink request"));
  }
  GenlReply reply;
  std::vector<uint8_t> buf(kBufferSize);
  for (;;) {
    pollfd p{fd_.get(), POLLIN, 0};
    if (::poll(&p, 1, kTimeoutMs) <= 0) return fail("no answer from the kernel's generic netlink");
    const ssize_t n = ::recv(fd_.get(), buf.data(), buf.size(), 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail(sys_error("reading a generic netlink answer"));
    }
    size_t pos = 0;
    const auto total = static_cast<size_t>(n);
    while (total - pos >= sizeof(nlmsghdr)) {
      nlmsghdr h{};
      std::memcpy(&h, buf.data() + pos, sizeof h);
      if (h.nlmsg_len < sizeof h || h.nlmsg_len > total - pos) break;
      const size_t len = h.nlmsg_len;
      if (h.nlmsg_seq == seq) {
        if (h.nlmsg_type == NLMSG_DONE) return reply;
        if (h.nlmsg_type == NLMSG_ERROR) {
          nlmsgerr e{};
          if (len >= sizeof h + sizeof e) std::memcpy(&e, buf.data() + pos + sizeof h, sizeof e);
          reply.error = -e.error;
          return reply;
        }
        reply.messages.emplace_back(buf.begin() + static_cast<std::ptrdiff_t>(pos),
                                    buf.begin() + static_cast<std::ptrdiff_t>(pos + len));
      }
      pos += NLMSG_ALIGN(len);
    }
  }
}

}  // namespace tern::io

#include "io/netlink_receive.hpp"

#include <linux/netlink.h>
#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include <fmt/core.h>

#include "io/sys_error.hpp"

namespace tern::io {
namespace {

constexpr int kTimeoutMs = 3000;
constexpr size_t kBufferSize = 1 << 16;
// An answer bigger than this is not a machine's networking state.
constexpr size_t kMaxMessages = 1 << 20;

}  // namespace

Result<NetlinkAnswer> receive_netlink_answer(int fd, uint32_t seq, std::string_view what) {
  NetlinkAnswer answer;
  std::vector<uint8_t> buf(kBufferSize);
  for (;;) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, kTimeoutMs) <= 0) {
      return fail(fmt::format("no answer from the kernel to {}", what));
    }
    const ssize_t n = ::recv(fd, buf.data(), buf.size(), 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail(fmt::format("reading the answer to {}: {}", what, errno_text(errno)));
    }
    size_t pos = 0;
    const auto total = static_cast<size_t>(n);
    while (total - pos >= sizeof(nlmsghdr)) {
      nlmsghdr h{};
      std::memcpy(&h, buf.data() + pos, sizeof h);
      if (h.nlmsg_len < sizeof h || h.nlmsg_len > total - pos) break;
      const size_t len = h.nlmsg_len;
      if (h.nlmsg_seq == seq) {
        if (h.nlmsg_type == NLMSG_DONE) return answer;
        if (h.nlmsg_type == NLMSG_ERROR) {
          nlmsgerr e{};
          if (len >= sizeof h + sizeof e) std::memcpy(&e, buf.data() + pos + sizeof h, sizeof e);
          answer.error = -e.error;
          return answer;
        }
        if (answer.messages.size() >= kMaxMessages) {
          return fail(fmt::format("{}: too many messages", what));
        }
        answer.messages.emplace_back(buf.begin() + static_cast<std::ptrdiff_t>(pos),
                                     buf.begin() + static_cast<std::ptrdiff_t>(pos + len));
      }
      pos += NLMSG_ALIGN(len);
    }
  }
}

}  // namespace tern::io

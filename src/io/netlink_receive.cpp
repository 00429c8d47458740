#include "io/netlink_receive.hpp"

#include <linux/netlink.h>
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <fmt/core.h>

#include "io/sys_error.hpp"

namespace tern::io {
namespace {

constexpr int kTimeoutMs = 3000;
// Larger than any one read: the kernel fills a dump's reads up to 32 KiB.
constexpr size_t kBufferSize = 1 << 16;
// An answer bigger than this is not a machine's networking state.
constexpr size_t kMaxMessages = 1 << 20;

// NLMSGERR_ATTR_MSG from the attributes after an NLMSG_ERROR's nlmsgerr: after the request's
// header alone when NETLINK_CAP_ACK capped it, after the whole request otherwise.
std::string extended_ack_text(Bytes msg) {
  nlmsghdr h{};
  nlmsgerr e{};
  if (msg.size() < NLMSG_HDRLEN + sizeof e) return {};
  std::memcpy(&h, msg.data(), sizeof h);
  std::memcpy(&e, msg.data() + NLMSG_HDRLEN, sizeof e);
  if ((h.nlmsg_flags & NLM_F_ACK_TLVS) == 0) return {};
  size_t pos = NLMSG_HDRLEN + NLMSG_ALIGN(sizeof e);
  if ((h.nlmsg_flags & NLM_F_CAPPED) == 0) {
    if (e.msg.nlmsg_len < NLMSG_HDRLEN) return {};
    pos += NLMSG_ALIGN(size_t{e.msg.nlmsg_len} - NLMSG_HDRLEN);
  }
  while (pos < msg.size() && msg.size() - pos >= sizeof(nlattr)) {
    nlattr a{};
    std::memcpy(&a, msg.data() + pos, sizeof a);
    if (a.nla_len < sizeof a || a.nla_len > msg.size() - pos) return {};
    if ((a.nla_type & NLA_TYPE_MASK) == NLMSGERR_ATTR_MSG) {
      const auto* text = reinterpret_cast<const char*>(msg.data() + pos + sizeof a);
      return std::string(text, strnlen(text, a.nla_len - sizeof a));
    }
    pos += NLA_ALIGN(size_t{a.nla_len});
  }
  return {};
}

}  // namespace

Result<NetlinkEnd> receive_netlink(int fd, uint32_t seq, std::string_view what,
                                   const std::function<void(Bytes)>& on_message) {
  // nlmsghdr's fields are 4-byte aligned for the readers that cast.
  std::vector<uint32_t> storage(kBufferSize / sizeof(uint32_t));
  auto* buf = reinterpret_cast<uint8_t*>(storage.data());
  size_t count = 0;
  for (;;) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, kTimeoutMs) <= 0) {
      return fail(fmt::format("no answer from the kernel to {}", what));
    }
    iovec iov{buf, kBufferSize};
    msghdr mh{};
    mh.msg_iov = &iov;
    mh.msg_iovlen = 1;
    const ssize_t n = ::recvmsg(fd, &mh, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail(fmt::format("reading the answer to {}: {}", what, errno_text(errno)));
    }
    if ((mh.msg_flags & MSG_TRUNC) != 0) {
      return fail(
          fmt::format("reading the answer to {}: a message over {} bytes", what, kBufferSize));
    }
    size_t pos = 0;
    const auto total = static_cast<size_t>(n);
    while (total - pos >= sizeof(nlmsghdr)) {
      nlmsghdr h{};
      std::memcpy(&h, buf + pos, sizeof h);
      if (h.nlmsg_len < sizeof h || h.nlmsg_len > total - pos) break;
      const Bytes msg(buf + pos, h.nlmsg_len);
      pos += std::min<size_t>(NLMSG_ALIGN(h.nlmsg_len), total - pos);
      if (h.nlmsg_seq != seq || h.nlmsg_type == NLMSG_NOOP) continue;
      if (h.nlmsg_type == NLMSG_OVERRUN) {
        return fail(fmt::format("reading the answer to {}: the kernel overran", what));
      }
      if (h.nlmsg_type == NLMSG_DONE || h.nlmsg_type == NLMSG_ERROR) {
        // Both carry the request's errno as a negative int first (a dump's DONE may be short).
        int err = 0;
        if (msg.size() >= NLMSG_HDRLEN + sizeof err) {
          std::memcpy(&err, msg.data() + NLMSG_HDRLEN, sizeof err);
        }
        NetlinkEnd end;
        end.error = err < 0 ? -err : err;
        if (h.nlmsg_type == NLMSG_ERROR && end.error != 0) end.kernel_text = extended_ack_text(msg);
        return end;
      }
      if (++count > kMaxMessages) return fail(fmt::format("{}: too many messages", what));
      on_message(msg);
    }
  }
}

Result<NetlinkAnswer> receive_netlink_answer(int fd, uint32_t seq, std::string_view what) {
  NetlinkAnswer answer;
  auto end = receive_netlink(fd, seq, what,
                             [&](Bytes m) { answer.messages.emplace_back(m.begin(), m.end()); });
  if (!end) return tl::unexpected(end.error());
  static_cast<NetlinkEnd&>(answer) = std::move(*end);
  return answer;
}

}  // namespace tern::io

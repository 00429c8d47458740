#include "io/netlink_conn.hpp"

#include <errno.h>

#include <fmt/core.h>

#include "io/netlink_receive.hpp"
#include "io/sys_error.hpp"

namespace tern::io::detail {

Status transact(Conn& conn, nlmsghdr* nlh, mnl_cb_t on_data, Reply& reply,
                const std::string& what) {
  nlh->nlmsg_flags |= NLM_F_REQUEST;
  // A dump ends with NLMSG_DONE; asking it for an ACK as well would gain nothing.
  if ((nlh->nlmsg_flags & NLM_F_DUMP) != NLM_F_DUMP) nlh->nlmsg_flags |= NLM_F_ACK;
  const uint32_t seq = nlh->nlmsg_seq = ++conn.seq;
  if (mnl_socket_sendto(conn.sock, nlh, nlh->nlmsg_len) < 0) {
    int err = errno;
    return fail(fmt::format("netlink: {} failed: sending the request: {}", what, errno_text(err)));
  }
  bool malformed = false;
  auto end = receive_netlink(mnl_socket_get_fd(conn.sock), seq, what, [&](Bytes msg) {
    if (on_data == nullptr || malformed) return;
    // receive_netlink checked the length and hands over aligned messages.
    const auto* m = reinterpret_cast<const nlmsghdr*>(msg.data());
    malformed = on_data(m, &reply) == MNL_CB_ERROR;
  });
  if (!end) return fail("netlink: " + end.error().message);
  reply.error = end->error;
  reply.kernel_text = std::move(end->kernel_text);
  if (reply.error == 0 && malformed) reply.error = EBADMSG;
  if (reply.error != 0) {
    std::string msg = fmt::format("netlink: {} failed: {}", what, errno_text(reply.error));
    if (!reply.kernel_text.empty()) msg += " (kernel: " + reply.kernel_text + ")";
    return fail(std::move(msg));
  }
  return {};
}

Status simple_request(Conn& conn, nlmsghdr* nlh, const std::string& what, int ignored_errno) {
  Reply reply;
  auto st = transact(conn, nlh, nullptr, reply, what);
  if (!st && ignored_errno != 0 && reply.error == ignored_errno) return {};
  return st;
}

}  // namespace tern::io::detail

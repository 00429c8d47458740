#include "io/netlink_conn.hpp"

#include <errno.h>

#include <fmt/core.h>

#include "io/sys_error.hpp"

namespace tern::io::detail {
namespace {

int on_ext_ack_attr(const nlattr* attr, void* data) {
  if (mnl_attr_get_type(attr) == NLMSGERR_ATTR_MSG &&
      mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) == 0) {
    static_cast<Reply*>(data)->kernel_text = mnl_attr_get_str(attr);
  }
  return MNL_CB_OK;
}

int on_error(const nlmsghdr* nlh, void* data) {
  auto* reply = static_cast<Reply*>(data);
  if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(nlmsgerr))) {
    reply->error = EBADMSG;
    errno = EBADMSG;
    return MNL_CB_ERROR;
  }
  const auto* err = static_cast<const nlmsgerr*>(mnl_nlmsg_get_payload(nlh));
  if (err->error == 0) return MNL_CB_STOP;  // the ACK
  reply->error = err->error < 0 ? -err->error : err->error;
  // NETLINK_CAP_ACK is set, so the extended-ACK attributes follow the bare nlmsgerr.
  if ((nlh->nlmsg_flags & NLM_F_ACK_TLVS) && (nlh->nlmsg_flags & NLM_F_CAPPED)) {
    mnl_attr_parse(nlh, sizeof(nlmsgerr), on_ext_ack_attr, reply);
  }
  errno = reply->error;
  return MNL_CB_ERROR;
}

int on_noop(const nlmsghdr*, void*) {
  return MNL_CB_OK;
}

// The end of a dump; it carries the dump's own error, if any, as an int.
int on_done(const nlmsghdr* nlh, void* data) {
  if (nlh->nlmsg_len >= mnl_nlmsg_size(sizeof(int))) {
    int err = *static_cast<const int*>(mnl_nlmsg_get_payload(nlh));
    if (err < 0) {
      static_cast<Reply*>(data)->error = -err;
      errno = -err;
      return MNL_CB_ERROR;
    }
  }
  return MNL_CB_STOP;
}

int on_overrun(const nlmsghdr*, void* data) {
  static_cast<Reply*>(data)->error = ENOSPC;
  errno = ENOSPC;
  return MNL_CB_ERROR;
}

}  // namespace

Status transact(Conn& conn, nlmsghdr* nlh, mnl_cb_t on_data, Reply& reply,
                const std::string& what) {
  nlh->nlmsg_flags |= NLM_F_REQUEST;
  // A dump ends with NLMSG_DONE; asking it for an ACK as well would gain nothing.
  if ((nlh->nlmsg_flags & NLM_F_DUMP) != NLM_F_DUMP) nlh->nlmsg_flags |= NLM_F_ACK;
  nlh->nlmsg_seq = ++conn.seq;
  if (mnl_socket_sendto(conn.sock, nlh, nlh->nlmsg_len) < 0) {
    int err = errno;
    return fail(fmt::format("netlink: {} failed: sending the request: {}", what, errno_text(err)));
  }
  static mnl_cb_t control_callbacks[NLMSG_MIN_TYPE] = {
      nullptr, on_noop, on_error, on_done, on_overrun,
  };
  for (;;) {
    ssize_t n = mnl_socket_recvfrom(conn.sock, conn.buf.data(), conn.buf.size());
    if (n < 0) {
      int err = errno;
      if (err == EINTR) continue;
      if (err == EAGAIN || err == EWOULDBLOCK) {
        return fail(fmt::format("netlink: {} failed: no answer from the kernel", what));
      }
      return fail(fmt::format("netlink: {} failed: reading the answer: {}", what, errno_text(err)));
    }
    int ret = mnl_cb_run2(conn.buf.data(), static_cast<size_t>(n), nlh->nlmsg_seq, conn.portid,
                          on_data, &reply, control_callbacks, NLMSG_MIN_TYPE);
    if (ret == MNL_CB_STOP) return {};
    if (ret == MNL_CB_ERROR) {
      if (reply.error == 0) reply.error = errno;
      std::string msg = fmt::format("netlink: {} failed: {}", what, errno_text(reply.error));
      if (!reply.kernel_text.empty()) msg += " (kernel: " + reply.kernel_text + ")";
      return fail(std::move(msg));
    }
  }
}

Status simple_request(Conn& conn, nlmsghdr* nlh, const std::string& what, int ignored_errno) {
  Reply reply;
  auto st = transact(conn, nlh, nullptr, reply, what);
  if (!st && ignored_errno != 0 && reply.error == ignored_errno) return {};
  return st;
}

}  // namespace tern::io::detail

#include "io/netlink.hpp"

#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/if_addr.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <cstring>
#include <vector>

#include <fmt/core.h>

#include "io/sys_error.hpp"

namespace tern::io {

namespace {

// One rtnetlink socket and the buffer its requests and answers pass through.
struct Conn {
  mnl_socket* sock = nullptr;
  unsigned portid = 0;
  uint32_t seq = 0;
  std::vector<char> buf = std::vector<char>(MNL_SOCKET_BUFFER_SIZE);

  Conn() = default;
  Conn(const Conn&) = delete;
  Conn& operator=(const Conn&) = delete;
  ~Conn() {
    if (sock != nullptr) mnl_socket_close(sock);
  }
};

// What the reply to one request carried.
struct Reply {
  int error = 0;            // the request's errno, 0 on success
  std::string kernel_text;  // extended ACK message, e.g. "Invalid prefix for given prefix length"
  int ifindex = 0;          // RTM_GETLINK: the index found
};

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
int on_done(const nlmsghdr*, void*) {
  return MNL_CB_STOP;
}
int on_overrun(const nlmsghdr*, void* data) {
  static_cast<Reply*>(data)->error = ENOSPC;
  errno = ENOSPC;
  return MNL_CB_ERROR;
}

int on_link(const nlmsghdr* nlh, void* data) {
  if (nlh->nlmsg_type == RTM_NEWLINK && nlh->nlmsg_len >= mnl_nlmsg_size(sizeof(ifinfomsg))) {
    const auto* ifi = static_cast<const ifinfomsg*>(mnl_nlmsg_get_payload(nlh));
    static_cast<Reply*>(data)->ifindex = ifi->ifi_index;
  }
  return MNL_CB_OK;
}

// Sends the request in `impl.buf` and reads until its ACK or error.
Status transact(Conn& impl, nlmsghdr* nlh, mnl_cb_t on_data, Reply& reply,
                const std::string& what) {
  nlh->nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
  nlh->nlmsg_seq = ++impl.seq;
  if (mnl_socket_sendto(impl.sock, nlh, nlh->nlmsg_len) < 0) {
    int err = errno;
    return fail(fmt::format("netlink: {} failed: sending the request: {}", what, errno_text(err)));
  }
  static mnl_cb_t control_callbacks[NLMSG_MIN_TYPE] = {
      nullptr, on_noop, on_error, on_done, on_overrun,
  };
  for (;;) {
    ssize_t n = mnl_socket_recvfrom(impl.sock, impl.buf.data(), impl.buf.size());
    if (n < 0) {
      int err = errno;
      if (err == EINTR) continue;
      if (err == EAGAIN || err == EWOULDBLOCK) {
        return fail(fmt::format("netlink: {} failed: no answer from the kernel", what));
      }
      return fail(fmt::format("netlink: {} failed: reading the answer: {}", what, errno_text(err)));
    }
    int ret = mnl_cb_run2(impl.buf.data(), static_cast<size_t>(n), nlh->nlmsg_seq, impl.portid,
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

Status simple_request(Conn& impl, nlmsghdr* nlh, const std::string& what, int ignored_errno = 0) {
  Reply reply;
  auto st = transact(impl, nlh, nullptr, reply, what);
  if (!st && ignored_errno != 0 && reply.error == ignored_errno) return {};
  return st;
}

uint8_t family_of(const IpAddress& a) {
  return a.is_v4() ? AF_INET : AF_INET6;
}

nlmsghdr* route_message(Conn& impl, uint16_t type, uint16_t flags, int ifindex,
                        const IpPrefix& dst) {
  IpPrefix masked = dst.masked();
  nlmsghdr* nlh = mnl_nlmsg_put_header(impl.buf.data());
  nlh->nlmsg_type = type;
  nlh->nlmsg_flags = flags;
  auto* rtm = static_cast<rtmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(rtmsg)));
  rtm->rtm_family = family_of(masked.address);
  rtm->rtm_dst_len = masked.length;
  rtm->rtm_table = RT_TABLE_MAIN;
  if (type == RTM_NEWROUTE) {
    rtm->rtm_protocol = RTPROT_BOOT;
    rtm->rtm_scope = RT_SCOPE_LINK;
    rtm->rtm_type = RTN_UNICAST;
  } else {
    rtm->rtm_scope = RT_SCOPE_NOWHERE;  // deletion: match any scope, as `ip route del` does
  }
  if (masked.length > 0) {
    mnl_attr_put(nlh, RTA_DST, masked.address.size(), masked.address.data());
  }
  mnl_attr_put_u32(nlh, RTA_OIF, static_cast<uint32_t>(ifindex));
  mnl_attr_put_u32(nlh, RTA_TABLE, RT_TABLE_MAIN);
  return nlh;
}

}  // namespace

struct Netlink::Impl {
  Conn conn;
};

Netlink::Netlink(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Netlink::~Netlink() = default;
Netlink::Netlink(Netlink&&) noexcept = default;
Netlink& Netlink::operator=(Netlink&&) noexcept = default;

Result<Netlink> Netlink::open() {
  auto impl = std::make_unique<Impl>();
  impl->conn.sock = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
  if (impl->conn.sock == nullptr) {
    int err = errno;
    return fail("opening a netlink (rtnetlink) socket failed: " + errno_text(err));
  }
  if (mnl_socket_bind(impl->conn.sock, 0, MNL_SOCKET_AUTOPID) < 0) {
    int err = errno;
    return fail("binding the netlink socket failed: " + errno_text(err));
  }
  impl->conn.portid = mnl_socket_get_portid(impl->conn.sock);
  // Extended ACKs carry the kernel's own explanation of an error; capped ACKs keep them small.
  int on = 1;
  mnl_socket_setsockopt(impl->conn.sock, NETLINK_EXT_ACK, &on, sizeof on);
  mnl_socket_setsockopt(impl->conn.sock, NETLINK_CAP_ACK, &on, sizeof on);
  // The kernel always answers; the timeout only keeps a bug from hanging the agent.
  timeval tv{.tv_sec = 5, .tv_usec = 0};
  ::setsockopt(mnl_socket_get_fd(impl->conn.sock), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  return Netlink(std::move(impl));
}

Result<int> Netlink::link_index(const std::string& ifname) {
  if (ifname.empty() || ifname.size() >= IFNAMSIZ) {
    return fail(fmt::format("'{}' is not a valid interface name", ifname));
  }
  nlmsghdr* nlh = mnl_nlmsg_put_header(impl_->conn.buf.data());
  nlh->nlmsg_type = RTM_GETLINK;
  auto* ifi = static_cast<ifinfomsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(ifinfomsg)));
  ifi->ifi_family = AF_UNSPEC;
  mnl_attr_put_strz(nlh, IFLA_IFNAME, ifname.c_str());
  Reply reply;
  auto st = transact(impl_->conn, nlh, on_link, reply, "looking up interface " + ifname);
  if (!st) {
    if (reply.error == ENODEV) return fail(fmt::format("no network interface named {}", ifname));
    return tl::unexpected(st.error());
  }
  if (reply.ifindex <= 0) return fail(fmt::format("no network interface named {}", ifname));
  return reply.ifindex;
}

Status Netlink::set_mtu(int ifindex, uint32_t mtu) {
  nlmsghdr* nlh = mnl_nlmsg_put_header(impl_->conn.buf.data());
  nlh->nlmsg_type = RTM_NEWLINK;
  auto* ifi = static_cast<ifinfomsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(ifinfomsg)));
  ifi->ifi_family = AF_UNSPEC;
  ifi->ifi_index = ifindex;
  mnl_attr_put_u32(nlh, IFLA_MTU, mtu);
  return simple_request(impl_->conn, nlh,
                        fmt::format("setting the MTU of interface {} to {}", ifindex, mtu));
}

Status Netlink::set_up(int ifindex) {
  nlmsghdr* nlh = mnl_nlmsg_put_header(impl_->conn.buf.data());
  nlh->nlmsg_type = RTM_NEWLINK;
  auto* ifi = static_cast<ifinfomsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(ifinfomsg)));
  ifi->ifi_family = AF_UNSPEC;
  ifi->ifi_index = ifindex;
  ifi->ifi_flags = IFF_UP;
  ifi->ifi_change = IFF_UP;
  return simple_request(impl_->conn, nlh, fmt::format("bringing interface {} up", ifindex));
}

Status Netlink::add_address(int ifindex, const IpPrefix& prefix) {
  const IpAddress& a = prefix.address;
  if (prefix.length > a.bits()) {
    return fail(
        fmt::format("invalid address {}: prefix length above {}", prefix.to_string(), a.bits()));
  }
  nlmsghdr* nlh = mnl_nlmsg_put_header(impl_->conn.buf.data());
  nlh->nlmsg_type = RTM_NEWADDR;
  nlh->nlmsg_flags = NLM_F_CREATE | NLM_F_EXCL;
  auto* ifa = static_cast<ifaddrmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(ifaddrmsg)));
  ifa->ifa_family = family_of(a);
  ifa->ifa_prefixlen = prefix.length;
  ifa->ifa_scope = RT_SCOPE_UNIVERSE;
  ifa->ifa_index = static_cast<uint32_t>(ifindex);
  // Duplicate address detection would hold an IPv6 address "tentative" (unusable) for a
  // second or more; on a point-to-point tunnel there is nobody to collide with.
  uint32_t flags = a.is_v6() ? IFA_F_NODAD : 0;
  ifa->ifa_flags = static_cast<uint8_t>(flags);
  mnl_attr_put(nlh, IFA_LOCAL, a.size(), a.data());
  mnl_attr_put(nlh, IFA_ADDRESS, a.size(), a.data());
  if (flags != 0) mnl_attr_put_u32(nlh, IFA_FLAGS, flags);
  return simple_request(
      impl_->conn, nlh,
      fmt::format("adding address {} to interface {}", prefix.to_string(), ifindex), EEXIST);
}

Status Netlink::add_route(int ifindex, const IpPrefix& dst) {
  if (dst.length > dst.address.bits()) {
    return fail(fmt::format("invalid route {}: prefix length above {}", dst.to_string(),
                            dst.address.bits()));
  }
  nlmsghdr* nlh = route_message(impl_->conn, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, ifindex, dst);
  return simple_request(
      impl_->conn, nlh,
      fmt::format("adding a route to {} via interface {}", dst.masked().to_string(), ifindex),
      EEXIST);
}

Status Netlink::delete_route(int ifindex, const IpPrefix& dst) {
  if (dst.length > dst.address.bits()) {
    return fail(fmt::format("invalid route {}: prefix length above {}", dst.to_string(),
                            dst.address.bits()));
  }
  nlmsghdr* nlh = route_message(impl_->conn, RTM_DELROUTE, 0, ifindex, dst);
  return simple_request(
      impl_->conn, nlh,
      fmt::format("deleting the route to {} via interface {}", dst.masked().to_string(), ifindex),
      ESRCH);
}

Status Netlink::delete_link(int ifindex) {
  nlmsghdr* nlh = mnl_nlmsg_put_header(impl_->conn.buf.data());
  nlh->nlmsg_type = RTM_DELLINK;
  auto* ifi = static_cast<ifinfomsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(ifinfomsg)));
  ifi->ifi_family = AF_UNSPEC;
  ifi->ifi_index = ifindex;
  return simple_request(impl_->conn, nlh, fmt::format("deleting interface {}", ifindex));
}

}  // namespace tern::io

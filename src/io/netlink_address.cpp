#include "io/netlink_address.hpp"

#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/if_addr.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <fmt/core.h>

#include "io/netlink_conn.hpp"
#include "io/sys_error.hpp"

namespace tern::io {

Status delete_address(int ifindex, const IpPrefix& prefix) {
  const IpAddress& a = prefix.address;
  if (prefix.length > a.bits()) {
    return fail(
        fmt::format("invalid address {}: prefix length above {}", prefix.to_string(), a.bits()));
  }
  detail::Conn conn;
  conn.sock = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
  if (conn.sock == nullptr) {
    const int err = errno;
    return fail("opening a netlink (rtnetlink) socket failed: " + errno_text(err));
  }
  if (mnl_socket_bind(conn.sock, 0, MNL_SOCKET_AUTOPID) < 0) {
    const int err = errno;
    return fail("binding the netlink socket failed: " + errno_text(err));
  }
  conn.portid = mnl_socket_get_portid(conn.sock);
  int on = 1;
  mnl_socket_setsockopt(conn.sock, NETLINK_EXT_ACK, &on, sizeof on);
  mnl_socket_setsockopt(conn.sock, NETLINK_CAP_ACK, &on, sizeof on);
  timeval tv{.tv_sec = 5, .tv_usec = 0};  // the kernel always answers; a bug must not hang us
  ::setsockopt(mnl_socket_get_fd(conn.sock), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);

  nlmsghdr* nlh = mnl_nlmsg_put_header(conn.buf.data());
  nlh->nlmsg_type = RTM_DELADDR;
  auto* ifa = static_cast<ifaddrmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(ifaddrmsg)));
  ifa->ifa_family = detail::family_of(a.family());
  ifa->ifa_prefixlen = prefix.length;
  ifa->ifa_scope = RT_SCOPE_UNIVERSE;
  ifa->ifa_index = static_cast<uint32_t>(ifindex);
  mnl_attr_put(nlh, IFA_LOCAL, a.size(), a.data());
  mnl_attr_put(nlh, IFA_ADDRESS, a.size(), a.data());
  // The kernel answers a missing address with EADDRNOTAVAIL.
  return detail::simple_request(
      conn, nlh, fmt::format("removing address {} from interface {}", prefix.to_string(), ifindex),
      EADDRNOTAVAIL);
}

}  // namespace tern::io

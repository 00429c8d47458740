// The rtnetlink transport under io::Netlink: one libmnl socket, one request at a time, its
// answer read by receive_netlink (netlink_receive.hpp) until the ACK, error or end of dump.
// Internal to io/ (netlink.cpp, netlink_rules.cpp).
#pragma once

#include <libmnl/libmnl.h>
#include <linux/netlink.h>
#include <sys/socket.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "base/ip.hpp"
#include "base/result.hpp"
#include "io/netlink.hpp"

namespace tern::io::detail {

// One rtnetlink socket and the buffer its requests are built in.
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

// Starts a request in `conn.buf`: the netlink header, then the request's fixed part T
// (ifinfomsg, ifaddrmsg, rtmsg, fib_rule_hdr), zeroed, for the caller to fill in.
template <typename T>
std::pair<nlmsghdr*, T*> start_request(Conn& conn, uint16_t type, uint16_t flags = 0) {
  nlmsghdr* nlh = mnl_nlmsg_put_header(conn.buf.data());
  nlh->nlmsg_type = type;
  nlh->nlmsg_flags = flags;
  return {nlh, static_cast<T*>(mnl_nlmsg_put_extra_header(nlh, sizeof(T)))};
}

// What the reply to one request carried; `user` is for the request's own data callback.
struct Reply {
  int error = 0;            // the request's errno, 0 on success
  std::string kernel_text;  // extended ACK message, e.g. "Invalid prefix for given prefix length"
  void* user = nullptr;
};

// Sends the request built in `conn.buf` and reads until its ACK, error or NLMSG_DONE (a dump,
// NLM_F_DUMP, gets no ACK). `on_data` (may be null) sees every other message, with `reply` as
// its data; `what` names the request in errors ("netlink: adding a route ... failed: ...").
[[nodiscard]] Status transact(Conn& conn, nlmsghdr* nlh, mnl_cb_t on_data, Reply& reply,
                              const std::string& what);

// transact() without data; `ignored_errno` (EEXIST, ESRCH, ...) counts as success.
[[nodiscard]] Status simple_request(Conn& conn, nlmsghdr* nlh, const std::string& what,
                                    int ignored_errno = 0);

inline uint8_t family_of(IpAddress::Family f) {
  return f == IpAddress::Family::kV4 ? AF_INET : AF_INET6;
}

}  // namespace tern::io::detail

namespace tern::io {

struct Netlink::Impl {
  detail::Conn conn;
};

}  // namespace tern::io

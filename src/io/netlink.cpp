#include "io/netlink.hpp"

#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/if_addr.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include <fmt/core.h>

#include "io/netlink_conn.hpp"
#include "io/sys_error.hpp"

namespace tern::io {

namespace {

using detail::Reply;
using detail::simple_request;
using detail::transact;

int on_link(const nlmsghdr* nlh, void* data) {
  if (nlh->nlmsg_type == RTM_NEWLINK && nlh->nlmsg_len >= mnl_nlmsg_size(sizeof(ifinfomsg))) {
    const auto* ifi = static_cast<const ifinfomsg*>(mnl_nlmsg_get_payload(nlh));
    *static_cast<int*>(static_cast<Reply*>(data)->user) = ifi->ifi_index;
  }
  return MNL_CB_OK;
}

int on_route_table_attr(const nlattr* attr, void* data) {
  if (mnl_attr_get_type(attr) == RTA_TABLE && mnl_attr_validate(attr, MNL_TYPE_U32) == 0) {
    *static_cast<uint32_t*>(data) = mnl_attr_get_u32(attr);
  }
  return MNL_CB_OK;
}

// One route of a dump: note its table (RTA_TABLE when present, the 8-bit rtm_table otherwise).
int on_route(const nlmsghdr* nlh, void* data) {
  if (nlh->nlmsg_type != RTM_NEWROUTE || nlh->nlmsg_len < mnl_nlmsg_size(sizeof(rtmsg))) {
    return MNL_CB_OK;
  }
  const auto* rtm = static_cast<const rtmsg*>(mnl_nlmsg_get_payload(nlh));
  uint32_t table = rtm->rtm_table;
  mnl_attr_parse(nlh, sizeof(rtmsg), on_route_table_attr, &table);
  auto* tables = static_cast<std::vector<uint32_t>*>(static_cast<Reply*>(data)->user);
  if (std::find(tables->begin(), tables->end(), table) == tables->end()) tables->push_back(table);
  return MNL_CB_OK;
}

uint8_t family_of(const IpAddress& a) {
  return detail::family_of(a.family());
}

// `what` ("address", "route") with a prefix length its family cannot have.
Status check_length(const IpPrefix& p, const char* what) {
  if (p.length <= p.address.bits()) return {};
  return fail(
      fmt::format("invalid {} {}: prefix length above {}", what, p.to_string(), p.address.bits()));
}

// An RTM_*LINK request for one interface (index 0: the one the caller names with IFLA_IFNAME).
nlmsghdr* link_message(detail::Conn& conn, uint16_t type, int ifindex) {
  auto [nlh, ifi] = detail::start_request<ifinfomsg>(conn, type);
  ifi->ifi_family = AF_UNSPEC;
  ifi->ifi_index = ifindex;
  return nlh;
}

// An RTM_NEWADDR or RTM_DELADDR request for `prefix` on the interface.
nlmsghdr* address_message(detail::Conn& conn, uint16_t type, uint16_t flags, int ifindex,
                          const IpPrefix& prefix, uint32_t address_flags) {
  const IpAddress& a = prefix.address;
  auto [nlh, ifa] = detail::start_request<ifaddrmsg>(conn, type, flags);
  ifa->ifa_family = family_of(a);
  ifa->ifa_prefixlen = prefix.length;
  ifa->ifa_scope = RT_SCOPE_UNIVERSE;
  ifa->ifa_index = static_cast<uint32_t>(ifindex);
  ifa->ifa_flags = static_cast<uint8_t>(address_flags);
  mnl_attr_put(nlh, IFA_LOCAL, a.size(), a.data());
  mnl_attr_put(nlh, IFA_ADDRESS, a.size(), a.data());
  // The header holds 8 bits of flags; IFA_FLAGS all 32.
  if (address_flags != 0) mnl_attr_put_u32(nlh, IFA_FLAGS, address_flags);
  return nlh;
}

nlmsghdr* route_message(detail::Conn& conn, uint16_t type, uint16_t flags, int ifindex,
                        const IpPrefix& dst, uint32_t table) {
  IpPrefix masked = dst.masked();
  auto [nlh, rtm] = detail::start_request<rtmsg>(conn, type, flags);
  rtm->rtm_family = family_of(masked.address);
  rtm->rtm_dst_len = masked.length;
  // Table ids above 255 fit only in RTA_TABLE; the header then says RT_TABLE_UNSPEC.
  rtm->rtm_table = static_cast<uint8_t>(table < 256 ? table : uint32_t{RT_TABLE_UNSPEC});
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
  mnl_attr_put_u32(nlh, RTA_TABLE, table);
  return nlh;
}

std::string table_text(uint32_t table) {
  return table == kMainTable ? std::string() : fmt::format(" in table {}", table);
}

}  // namespace

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
  return Netlink(std::move(impl));
}

Result<int> Netlink::link_index(const std::string& ifname) {
  if (ifname.empty() || ifname.size() >= IFNAMSIZ) {
    return fail(fmt::format("'{}' is not a valid interface name", ifname));
  }
  nlmsghdr* nlh = link_message(impl_->conn, RTM_GETLINK, 0);
  mnl_attr_put_strz(nlh, IFLA_IFNAME, ifname.c_str());
  int ifindex = 0;
  Reply reply;
  reply.user = &ifindex;
  auto st = transact(impl_->conn, nlh, on_link, reply, "looking up interface " + ifname);
  if (!st) {
    if (reply.error == ENODEV) return fail(fmt::format("no network interface named {}", ifname));
    return tl::unexpected(st.error());
  }
  if (ifindex <= 0) return fail(fmt::format("no network interface named {}", ifname));
  return ifindex;
}

Status Netlink::set_mtu(int ifindex, uint32_t mtu) {
  nlmsghdr* nlh = link_message(impl_->conn, RTM_NEWLINK, ifindex);
  mnl_attr_put_u32(nlh, IFLA_MTU, mtu);
  return simple_request(impl_->conn, nlh,
                        fmt::format("setting the MTU of interface {} to {}", ifindex, mtu));
}

Status Netlink::set_up(int ifindex) {
  nlmsghdr* nlh = link_message(impl_->conn, RTM_NEWLINK, ifindex);
  auto* ifi = static_cast<ifinfomsg*>(mnl_nlmsg_get_payload(nlh));
  ifi->ifi_flags = IFF_UP;
  ifi->ifi_change = IFF_UP;
  return simple_request(impl_->conn, nlh, fmt::format("bringing interface {} up", ifindex));
}

Status Netlink::add_address(int ifindex, const IpPrefix& prefix) {
  if (auto st = check_length(prefix, "address"); !st) return st;
  // Duplicate address detection would hold an IPv6 address "tentative" (unusable) for a
  // second or more; on a point-to-point tunnel there is nobody to collide with.
  const uint32_t flags = prefix.address.is_v6() ? IFA_F_NODAD : 0;
  nlmsghdr* nlh =
      address_message(impl_->conn, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, ifindex, prefix, flags);
  return simple_request(
      impl_->conn, nlh,
      fmt::format("adding address {} to interface {}", prefix.to_string(), ifindex), EEXIST);
}

Status Netlink::delete_address(int ifindex, const IpPrefix& prefix) {
  if (auto st = check_length(prefix, "address"); !st) return st;
  nlmsghdr* nlh = address_message(impl_->conn, RTM_DELADDR, 0, ifindex, prefix, 0);
  // The kernel answers a missing address with EADDRNOTAVAIL.
  return simple_request(
      impl_->conn, nlh,
      fmt::format("removing address {} from interface {}", prefix.to_string(), ifindex),
      EADDRNOTAVAIL);
}

Status Netlink::add_route(int ifindex, const IpPrefix& dst, uint32_t table) {
  if (auto st = check_length(dst, "route"); !st) return st;
  nlmsghdr* nlh =
      route_message(impl_->conn, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, ifindex, dst, table);
  return simple_request(impl_->conn, nlh,
                        fmt::format("adding a route to {} via interface {}{}",
                                    dst.masked().to_string(), ifindex, table_text(table)),
                        EEXIST);
}

Status Netlink::delete_route(int ifindex, const IpPrefix& dst, uint32_t table) {
  if (auto st = check_length(dst, "route"); !st) return st;
  nlmsghdr* nlh = route_message(impl_->conn, RTM_DELROUTE, 0, ifindex, dst, table);
  return simple_request(impl_->conn, nlh,
                        fmt::format("deleting the route to {} via interface {}{}",
                                    dst.masked().to_string(), ifindex, table_text(table)),
                        ESRCH);
}

Result<std::vector<uint32_t>> Netlink::route_tables() {
  auto [nlh, rtm] = detail::start_request<rtmsg>(impl_->conn, RTM_GETROUTE, NLM_F_DUMP);
  rtm->rtm_family = AF_UNSPEC;  // every family: IPv4, IPv6 and the multicast tables
  std::vector<uint32_t> tables;
  Reply reply;
  reply.user = &tables;
  if (auto st = transact(impl_->conn, nlh, on_route, reply, "listing the routes"); !st) {
    return tl::unexpected(st.error());
  }
  std::sort(tables.begin(), tables.end());
  return tables;
}

Status Netlink::delete_link(int ifindex) {
  nlmsghdr* nlh = link_message(impl_->conn, RTM_DELLINK, ifindex);
  return simple_request(impl_->conn, nlh, fmt::format("deleting interface {}", ifindex));
}

}  // namespace tern::io

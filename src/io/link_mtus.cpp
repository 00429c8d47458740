#include "io/link_mtus.hpp"

#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>

#include <cstring>

#include "io/rtnl_dump.hpp"

namespace tern::io {

std::optional<LinkMtu> parse_link_mtu(Bytes message) {
  nlmsghdr h{};
  if (message.size() < NLMSG_LENGTH(sizeof(ifinfomsg))) return std::nullopt;
  std::memcpy(&h, message.data(), sizeof h);
  if (h.nlmsg_type != RTM_NEWLINK || h.nlmsg_len > message.size()) return std::nullopt;
  ifinfomsg info{};
  std::memcpy(&info, message.data() + NLMSG_HDRLEN, sizeof info);
  LinkMtu link;
  link.index = info.ifi_index;
  link.up = (info.ifi_flags & IFF_UP) != 0;
  link.loopback = (info.ifi_flags & IFF_LOOPBACK) != 0;
  bool has_mtu = false;
  size_t pos = NLMSG_LENGTH(sizeof(ifinfomsg));
  pos = NLMSG_ALIGN(pos);
  const size_t end = h.nlmsg_len;
  while (pos + sizeof(rtattr) <= end) {
    rtattr a{};
    std::memcpy(&a, message.data() + pos, sizeof a);
    if (a.rta_len < sizeof a || a.rta_len > end - pos) break;
    const uint8_t* value = message.data() + pos + RTA_LENGTH(0);
    const size_t length = a.rta_len - RTA_LENGTH(0);
    if (a.rta_type == IFLA_MTU && length >= sizeof(uint32_t)) {
      std::memcpy(&link.mtu, value, sizeof link.mtu);
      has_mtu = true;
    } else if (a.rta_type == IFLA_IFNAME && length > 0) {
      link.name.assign(reinterpret_cast<const char*>(value),
                       strnlen(reinterpret_cast<const char*>(value), length));
    }
    pos += RTA_ALIGN(a.rta_len);
  }
  if (!has_mtu) return std::nullopt;
  return link;
}

Result<std::vector<LinkMtu>> list_link_mtus() {
  auto messages = rtnl_dump(RTM_GETLINK, AF_UNSPEC);
  if (!messages) return fail(messages.error().message);
  std::vector<LinkMtu> links;
  for (const auto& m : *messages) {
    if (auto link = parse_link_mtu(Bytes(m.data(), m.size()))) links.push_back(std::move(*link));
  }
  return links;
}

}  // namespace tern::io

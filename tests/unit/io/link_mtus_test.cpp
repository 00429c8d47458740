// Link MTUs: the parser on built messages (odd and truncated ones too), and the live dump of
// this process's namespace, where lo always is.
#include <gtest/gtest.h>

#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>

#include <cstring>
#include <string>
#include <vector>

#include "io/link_mtus.hpp"

namespace tern::io {
namespace {

void put_attr(std::vector<uint8_t>& m, uint16_t type, const void* value, size_t length) {
  rtattr a{};
  a.rta_type = type;
  a.rta_len = static_cast<uint16_t>(RTA_LENGTH(length));
  const size_t at = m.size();
  m.resize(at + RTA_SPACE(length), 0);
  std::memcpy(m.data() + at, &a, sizeof a);
  std::memcpy(m.data() + at + RTA_LENGTH(0), value, length);
}

std::vector<uint8_t> link_message(int index, unsigned flags, const std::string& name,
                                  std::optional<uint32_t> mtu, uint16_t type = RTM_NEWLINK) {
  std::vector<uint8_t> m(NLMSG_LENGTH(sizeof(ifinfomsg)), 0);
  ifinfomsg info{};
  info.ifi_index = index;
  info.ifi_flags = flags;
  std::memcpy(m.data() + NLMSG_HDRLEN, &info, sizeof info);
  m.resize(NLMSG_ALIGN(m.size()), 0);
  put_attr(m, IFLA_IFNAME, name.c_str(), name.size() + 1);
  if (mtu) put_attr(m, IFLA_MTU, &*mtu, sizeof *mtu);
  nlmsghdr h{};
  h.nlmsg_len = static_cast<uint32_t>(m.size());
  h.nlmsg_type = type;
  std::memcpy(m.data(), &h, sizeof h);
  return m;
}

TEST(LinkMtus, ParsesAMessage) {
  const auto m = link_message(7, IFF_UP, "jumbo0", 9000);
  auto link = parse_link_mtu(Bytes(m.data(), m.size()));
  ASSERT_TRUE(link);
  EXPECT_EQ(link->index, 7);
  EXPECT_EQ(link->name, "jumbo0");
  EXPECT_EQ(link->mtu, 9000u);
  EXPECT_TRUE(link->up);
  EXPECT_FALSE(link->loopback);
}

TEST(LinkMtus, RejectsOtherOrBrokenMessages) {
  auto no_mtu = link_message(2, IFF_UP, "eth0", std::nullopt);
  EXPECT_FALSE(parse_link_mtu(Bytes(no_mtu.data(), no_mtu.size())));
  auto other = link_message(2, IFF_UP, "eth0", 1500, RTM_NEWADDR);
  EXPECT_FALSE(parse_link_mtu(Bytes(other.data(), other.size())));
  auto good = link_message(2, 0, "eth0", 1500);
  // Every truncation is refused or parsed without reading past the end (ASan checks).
  for (size_t n = 0; n < good.size(); ++n) {
    std::vector<uint8_t> cut(good.begin(), good.begin() + static_cast<std::ptrdiff_t>(n));
    auto link = parse_link_mtu(Bytes(cut.data(), cut.size()));
    EXPECT_FALSE(link) << n;
  }
  // An attribute whose length runs past the message ends the parse.
  auto overlong = good;
  rtattr a{};
  std::memcpy(&a, overlong.data() + NLMSG_ALIGN(NLMSG_LENGTH(sizeof(ifinfomsg))), sizeof a);
  a.rta_len = 0xffff;
  std::memcpy(overlong.data() + NLMSG_ALIGN(NLMSG_LENGTH(sizeof(ifinfomsg))), &a, sizeof a);
  EXPECT_FALSE(parse_link_mtu(Bytes(overlong.data(), overlong.size())));
}

TEST(LinkMtus, LiveDumpHasLoopback) {
  auto links = list_link_mtus();
  ASSERT_TRUE(links) << links.error().message;
  bool lo = false;
  for (const auto& l : *links) {
    if (l.loopback) {
      lo = true;
      EXPECT_GE(l.mtu, 1280u);
    }
  }
  EXPECT_TRUE(lo);
}

}  // namespace
}  // namespace tern::io

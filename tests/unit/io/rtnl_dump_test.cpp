// The dumps against this process's own network namespace: every namespace has lo.
#include <gtest/gtest.h>

#include <cstring>

#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include "io/rtnl_dump.hpp"

namespace tern::io {
namespace {

TEST(RtnlDump, LinksIncludeLoopback) {
  auto messages = rtnl_dump(RTM_GETLINK, AF_UNSPEC);
  ASSERT_TRUE(messages) << messages.error().message;
  ASSERT_FALSE(messages->empty());
  bool lo = false;
  for (const auto& m : *messages) {
    nlmsghdr h{};
    ASSERT_GE(m.size(), sizeof h);
    std::memcpy(&h, m.data(), sizeof h);
    EXPECT_EQ(h.nlmsg_len, m.size());
    EXPECT_EQ(h.nlmsg_type, RTM_NEWLINK);
    ifinfomsg ifi{};
    ASSERT_GE(m.size(), NLMSG_LENGTH(sizeof ifi));
    std::memcpy(&ifi, m.data() + NLMSG_HDRLEN, sizeof ifi);
    if (ifi.ifi_index == 1) lo = true;
  }
  EXPECT_TRUE(lo);
}

TEST(RtnlDump, RoutesAndRules) {
  auto routes = rtnl_dump(RTM_GETROUTE, AF_INET);
  ASSERT_TRUE(routes) << routes.error().message;
  auto rules = rtnl_dump(RTM_GETRULE, AF_INET);
  ASSERT_TRUE(rules) << rules.error().message;
  // The kernel's three IPv4 rules are there unless someone deleted them.
  EXPECT_GE(rules->size(), 1u);
}

}  // namespace
}  // namespace tern::io

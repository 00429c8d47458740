// rtnetlink dump messages written byte by byte from linux/rtnetlink.h, linux/if_addr.h and
// linux/fib_rules.h, as `ip monitor` / the kernel's fill functions lay them out.
#include <gtest/gtest.h>

#include <cstring>

#include "doctor/routes_netlink.hpp"

namespace tern::doctor {
namespace {

// One message: nlmsghdr, the family header, then attributes, each padded to 4 bytes.
class Msg {
 public:
  Msg(uint16_t type, std::vector<uint8_t> header) {
    put32(0);  // nlmsg_len, set by bytes()
    put16(type);
    put16(2);  // NLM_F_MULTI
    put32(1);  // seq
    put32(0);  // pid
    b_.insert(b_.end(), header.begin(), header.end());
  }
  Msg& attr(uint16_t type, std::vector<uint8_t> value) {
    put16(static_cast<uint16_t>(4 + value.size()));
    put16(type);
    b_.insert(b_.end(), value.begin(), value.end());
    while (b_.size() % 4 != 0)
      b_.push_back(0);
    return *this;
  }
  Msg& u32(uint16_t type, uint32_t v) { return attr(type, native(v)); }
  std::vector<uint8_t> bytes() const {
    auto out = b_;
    const auto len = static_cast<uint32_t>(out.size());
    std::memcpy(out.data(), &len, 4);
    return out;
  }
  static std::vector<uint8_t> native(uint32_t v) {
    std::vector<uint8_t> out(4);
    std::memcpy(out.data(), &v, 4);
    return out;
  }

 private:
  void put16(uint16_t v) {
    uint8_t b[2];
    std::memcpy(b, &v, 2);
    b_.insert(b_.end(), b, b + 2);
  }
  void put32(uint32_t v) {
    auto n = native(v);
    b_.insert(b_.end(), n.begin(), n.end());
  }
  std::vector<uint8_t> b_;
};

std::vector<uint8_t> v4(uint8_t a, uint8_t b, uint8_t c, uint8_t d) {
  return {a, b, c, d};
}

std::vector<uint8_t> cat(std::vector<uint8_t> a, const std::vector<uint8_t>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

// ifinfomsg: family, pad, type u16, index i32, flags u32, change u32.
std::vector<uint8_t> ifinfomsg(uint32_t index) {
  return cat(cat({0, 0, 1, 0}, Msg::native(index)), cat(Msg::native(0x1003), Msg::native(0)));
}
// ifaddrmsg: family, prefixlen, flags, scope, index u32.
std::vector<uint8_t> ifaddrmsg(uint8_t family, uint8_t length, uint32_t index) {
  return cat({family, length, 0x80, 0}, Msg::native(index));
}
// rtmsg: family, dst_len, src_len, tos, table, protocol, scope, type, flags u32.
std::vector<uint8_t> rtmsg(uint8_t family, uint8_t length, uint8_t table, uint8_t type,
                           uint32_t flags = 0) {
  return cat({family, length, 0, 0, table, 4, 0, type}, Msg::native(flags));
}
// fib_rule_hdr: family, dst_len, src_len, tos, table, res1, res2, action, flags u32.
std::vector<uint8_t> rulehdr(uint8_t table, uint8_t action, uint32_t flags = 0) {
  return cat({2, 0, 0, 0, table, 0, 0, action}, Msg::native(flags));
}

NetState merge_all(const std::vector<std::vector<uint8_t>>& messages) {
  NetState s;
  for (const auto& m : messages) {
    auto st = merge_rtnl_message(m, s);
    EXPECT_TRUE(st) << st.error().message;
  }
  return s;
}

TEST(RoutesNetlink, LinkAndAddresses) {
  auto link = Msg(rtnl::kNewLink, ifinfomsg(3)).attr(3, {'e', 't', 'h', '0', 0}).bytes();
  auto addr = Msg(rtnl::kNewAddr, ifaddrmsg(2, 24, 3))
                  .attr(1, v4(192, 168, 1, 10))
                  .attr(2, v4(192, 168, 1, 10))
                  .attr(3, {'e', 't', 'h', '0', 0})
                  .bytes();
  std::vector<uint8_t> six(16, 0);
  six[0] = 0xfd;
  six[15] = 1;
  auto addr6 = Msg(rtnl::kNewAddr, ifaddrmsg(10, 64, 3)).attr(1, six).bytes();
  auto s = merge_all({link, addr, addr6});
  ASSERT_EQ(s.links.size(), 1u);
  EXPECT_EQ(s.links[0].index, 3u);
  EXPECT_EQ(s.links[0].name, "eth0");
  EXPECT_EQ(s.link_name(3), "eth0");
  EXPECT_EQ(s.link_name(9), "if9");
  ASSERT_EQ(s.addresses.size(), 2u);
  EXPECT_EQ(s.addresses[0].ifindex, 3u);
  EXPECT_EQ(s.addresses[0].prefix.to_string(), "192.168.1.10/24");
  EXPECT_EQ(s.addresses[1].prefix.to_string(), "fd00::1/64");
}

TEST(RoutesNetlink, NamesStayPrintable) {
  auto link = Msg(rtnl::kNewLink, ifinfomsg(4)).attr(3, {'w', 0xff, 'g', '\n', 0}).bytes();
  auto s = merge_all({link});
  ASSERT_EQ(s.links.size(), 1u);
  EXPECT_EQ(s.links[0].name, "w?g?");
}

TEST(RoutesNetlink, PointToPointAddressUsesLocal) {
  auto addr = Msg(rtnl::kNewAddr, ifaddrmsg(2, 32, 4))
                  .attr(1, v4(10, 0, 0, 2))  // IFA_ADDRESS: the far end
                  .attr(2, v4(10, 0, 0, 1))  // IFA_LOCAL: ours
                  .bytes();
  auto s = merge_all({addr});
  ASSERT_EQ(s.addresses.size(), 1u);
  EXPECT_EQ(s.addresses[0].prefix.to_string(), "10.0.0.1/32");
}

TEST(RoutesNetlink, Routes) {
  auto lan = Msg(rtnl::kNewRoute, rtmsg(2, 24, 254, 1))
                 .u32(15, 254)
                 .attr(1, v4(192, 168, 1, 0))
                 .u32(6, 100)
                 .u32(4, 3)
                 .bytes();
  auto def = Msg(rtnl::kNewRoute, rtmsg(2, 0, 254, 1))
                 .u32(15, 254)
                 .attr(5, v4(192, 168, 1, 1))
                 .u32(4, 3)
                 .bytes();
  // Table 51820 does not fit rtm_table, which says RT_TABLE_COMPAT (252); RTA_TABLE has it.
  auto wg = Msg(rtnl::kNewRoute, rtmsg(2, 0, 252, 1)).u32(15, 51820).u32(4, 7).bytes();
  auto local = Msg(rtnl::kNewRoute, rtmsg(2, 32, 255, 2))
                   .u32(15, 255)
                   .attr(1, v4(192, 168, 1, 10))
                   .u32(4, 3)
                   .bytes();
  // A multipath route: the first rtnexthop (len 8, flags, hops, ifindex 5).
  auto multi =
      Msg(rtnl::kNewRoute, rtmsg(2, 8, 254, 1))
          .attr(1, v4(10, 0, 0, 0))
          .attr(9, cat({16, 0, 0, 0}, cat(Msg::native(5), cat({8, 0, 5, 0}, v4(1, 2, 3, 4)))))
          .bytes();
  auto dead =
      Msg(rtnl::kNewRoute, rtmsg(2, 16, 254, 1, 1)).attr(1, v4(172, 17, 0, 0)).u32(4, 8).bytes();
  auto black = Msg(rtnl::kNewRoute, rtmsg(2, 24, 254, 6)).attr(1, v4(10, 9, 9, 0)).bytes();
  auto s = merge_all({lan, def, wg, local, multi, dead, black});
  ASSERT_EQ(s.routes.size(), 7u);
  EXPECT_EQ(s.routes[0].dst.to_string(), "192.168.1.0/24");
  EXPECT_EQ(s.routes[0].table, 254u);
  EXPECT_EQ(s.routes[0].oif, 3u);
  EXPECT_EQ(s.routes[0].metric, 100u);
  EXPECT_FALSE(s.routes[0].gateway);
  EXPECT_EQ(s.routes[1].dst.to_string(), "0.0.0.0/0");
  EXPECT_EQ(s.routes[1].gateway->to_string(), "192.168.1.1");
  EXPECT_EQ(s.routes[2].table, 51820u);
  EXPECT_EQ(s.routes[2].oif, 7u);
  EXPECT_EQ(s.routes[3].kind, RouteKind::kLocal);
  EXPECT_EQ(s.routes[3].table, kTableLocal);
  EXPECT_EQ(s.routes[4].oif, 5u);
  EXPECT_EQ(s.routes[4].dst.to_string(), "10.0.0.0/8");
  EXPECT_TRUE(s.routes[5].dead);
  EXPECT_EQ(s.routes[6].kind, RouteKind::kBlackhole);
  EXPECT_FALSE(s.routes[6].oif);
}

TEST(RoutesNetlink, Rules) {
  // wg-quick's full tunnel: `not fwmark 0xca6c lookup 51820` and
  // `lookup main suppress_prefixlength 0`, and the kernel's `lookup local` at 0.
  auto unless = Msg(rtnl::kNewRule, rulehdr(252, 1, 2))
                    .u32(15, 51820)
                    .u32(6, 32765)
                    .u32(10, 0xca6c)
                    .u32(16, 0xffffffff)
                    .attr(21, {0})  // FRA_PROTOCOL: read, not a selector
                    .bytes();
  auto suppress =
      Msg(rtnl::kNewRule, rulehdr(254, 1)).u32(15, 254).u32(6, 32764).u32(14, 0).bytes();
  auto local = Msg(rtnl::kNewRule, rulehdr(255, 1)).u32(15, 255).u32(14, 0xffffffff).bytes();
  auto uid = Msg(rtnl::kNewRule, rulehdr(254, 1))
                 .u32(6, 100)
                 .attr(20, cat(Msg::native(1000), Msg::native(1000)))
                 .bytes();
  auto to = Msg(rtnl::kNewRule, cat({2, 16, 0, 0, 0, 0, 0, 7}, Msg::native(0)))
                .attr(1, v4(10, 1, 0, 0))
                .attr(3, {'l', 'o', 0})
                .u32(6, 200)
                .bytes();
  auto s = merge_all({unless, suppress, local, uid, to});
  ASSERT_EQ(s.rules.size(), 5u);
  const auto& r = s.rules[0];
  EXPECT_EQ(r.table, 51820u);
  EXPECT_EQ(r.priority, 32765u);
  EXPECT_EQ(r.fwmark, 0xca6cu);
  EXPECT_EQ(r.fwmask, 0xffffffffu);
  EXPECT_TRUE(r.invert);
  EXPECT_FALSE(r.other_selectors);
  EXPECT_EQ(r.action, RuleAction::kToTable);
  EXPECT_EQ(s.rules[1].suppress_prefixlength, 0u);
  EXPECT_FALSE(s.rules[1].invert);
  EXPECT_EQ(s.rules[2].table, kTableLocal);
  EXPECT_EQ(s.rules[2].priority, 0u);
  EXPECT_FALSE(s.rules[2].suppress_prefixlength);  // -1: not set
  EXPECT_TRUE(s.rules[3].other_selectors);
  EXPECT_EQ(s.rules[4].action, RuleAction::kUnreachable);
  EXPECT_EQ(s.rules[4].dst->to_string(), "10.1.0.0/16");
  EXPECT_EQ(s.rules[4].iifname, "lo");
}

TEST(RoutesNetlink, OtherMessagesAndFamiliesAreSkipped) {
  NetState s;
  auto done = Msg(3, Msg::native(0)).bytes();  // NLMSG_DONE
  EXPECT_TRUE(merge_rtnl_message(done, s));
  auto bridge = Msg(rtnl::kNewRoute, rtmsg(7, 0, 254, 1)).bytes();  // AF_BRIDGE
  EXPECT_TRUE(merge_rtnl_message(bridge, s));
  auto mpls = Msg(rtnl::kNewAddr, ifaddrmsg(28, 20, 1)).bytes();
  EXPECT_TRUE(merge_rtnl_message(mpls, s));
  EXPECT_TRUE(s.routes.empty());
  EXPECT_TRUE(s.addresses.empty());
}

TEST(RoutesNetlink, BrokenMessagesFail) {
  const std::vector<std::vector<uint8_t>> good = {
      Msg(rtnl::kNewLink, ifinfomsg(3)).attr(3, {'e', 't', 'h', 0}).bytes(),
      Msg(rtnl::kNewAddr, ifaddrmsg(2, 24, 3)).attr(2, v4(192, 168, 1, 10)).bytes(),
      Msg(rtnl::kNewRoute, rtmsg(2, 24, 254, 1)).attr(1, v4(192, 168, 1, 0)).u32(4, 3).bytes(),
      Msg(rtnl::kNewRule, rulehdr(254, 1)).u32(6, 5).u32(15, 254).bytes(),
  };
  for (const auto& m : good) {
    NetState s;
    ASSERT_TRUE(merge_rtnl_message(m, s));
    // Every truncation: the header's length no longer fits what came.
    for (size_t n = 0; n < m.size(); ++n) {
      NetState t;
      EXPECT_FALSE(merge_rtnl_message(Bytes(m.data(), n), t)) << n;
    }
    // An attribute that runs past the message.
    auto overrun = m;
    overrun[overrun.size() - 8] = 0xff;  // the last attribute's length (all of them are 8 bytes)
    NetState u;
    EXPECT_FALSE(merge_rtnl_message(overrun, u));
  }
  NetState s;
  EXPECT_FALSE(merge_rtnl_message(Msg(rtnl::kNewRoute, rtmsg(2, 33, 254, 1)).bytes(), s));
  EXPECT_FALSE(merge_rtnl_message(
      Msg(rtnl::kNewRoute, rtmsg(2, 24, 254, 1)).attr(1, {10, 0, 0}).bytes(), s));
  EXPECT_FALSE(merge_rtnl_message(Msg(rtnl::kNewAddr, ifaddrmsg(2, 24, 3)).bytes(), s));
  EXPECT_FALSE(merge_rtnl_message(Msg(rtnl::kNewRule, {2, 0, 0}).bytes(), s));
}

}  // namespace
}  // namespace tern::doctor

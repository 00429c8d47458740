// The routing plan of `tern up`, checked against what wg-quick does for the same config.
#include "agent/routing.hpp"

#include <gtest/gtest.h>

#include <random>
#include <set>

namespace tern::agent {
namespace {

using Family = IpAddress::Family;
using Mode = config::RouteTable::Mode;
using Route = RoutePlan::Route;
using io::kMainTable;
using io::RoutingRule;

IpPrefix pfx(std::string_view text) {
  return IpPrefix::parse(text).value();
}

config::InterfaceConfig with_peers(std::vector<std::vector<std::string_view>> peers,
                                   config::RouteTable table = {}, uint32_t fwmark = 0) {
  config::InterfaceConfig c;
  c.table = table;
  c.fwmark = fwmark;
  for (const auto& allowed : peers) {
    config::PeerConfig p;
    for (auto text : allowed)
      p.allowed_ips.push_back(pfx(text));
    c.peers.push_back(p);
  }
  return c;
}

TEST(FullTunnel, OnlyAutoTablesWithADefaultRoute) {
  EXPECT_EQ(full_tunnel_families(with_peers({{"10.0.0.0/8", "fd00::/8"}})), FullTunnel{});
  EXPECT_EQ(full_tunnel_families(with_peers({{"10.0.0.2/32"}, {"0.0.0.0/0"}})),
            (FullTunnel{true, false}));
  EXPECT_EQ(full_tunnel_families(with_peers({{"::/0", "10.0.0.2/32"}})), (FullTunnel{false, true}));
  EXPECT_EQ(full_tunnel_families(with_peers({{"0.0.0.0/0", "::/0"}})), (FullTunnel{true, true}));
  EXPECT_FALSE(full_tunnel_families(with_peers({{"0.0.0.0/0", "::/0"}}, {Mode::kOff, 0})).any());
  EXPECT_FALSE(
      full_tunnel_families(with_peers({{"0.0.0.0/0", "::/0"}}, {Mode::kFixed, 1234})).any());
  EXPECT_FALSE(full_tunnel_families(with_peers({})).any());
}

TEST(ChoosePolicyTable, FirstFreeFrom51820UnlessFwMarkIsSet) {
  EXPECT_EQ(choose_policy_table(0, {}).value(), 51820u);
  EXPECT_EQ(choose_policy_table(0, {253, 254, 255}).value(), 51820u);
  EXPECT_EQ(choose_policy_table(0, {51821, 254, 51820, 255}).value(), 51822u);
  EXPECT_EQ(choose_policy_table(0, {51820, 51822}).value(), 51821u);
  // wg-quick takes the mark as the table, whatever that table holds.
  EXPECT_EQ(choose_policy_table(0x1234, {0x1234}).value(), 0x1234u);
  EXPECT_EQ(choose_policy_table(7, {}).value(), 7u);
}

TEST(PlanRoutes, FullTunnelBothFamilies) {
  auto c = with_peers(
      {{"10.0.0.2/32", "0.0.0.0/0", "fd00::2/128"}, {"192.168.7.0/24", "::/0", "10.0.0.2/32"}});
  RoutePlan plan = plan_routes(c, 51820);
  EXPECT_EQ(plan.routes, (std::vector<Route>{
                             {pfx("fd00::2/128"), kMainTable},
                             {pfx("10.0.0.2/32"), kMainTable},
                             {pfx("192.168.7.0/24"), kMainTable},
                             {pfx("0.0.0.0/0"), 51820},
                             {pfx("::/0"), 51820},
                         }));
  EXPECT_EQ(plan.rules, (std::vector<RoutingRule>{
                            RoutingRule::unless_marked(Family::kV4, 51820, 51820),
                            RoutingRule::suppressing(Family::kV4, kMainTable, 0),
                            RoutingRule::unless_marked(Family::kV6, 51820, 51820),
                            RoutingRule::suppressing(Family::kV6, kMainTable, 0),
                        }));
  EXPECT_EQ(plan.fwmark, 51820u);
  EXPECT_TRUE(plan.src_valid_mark);
}

TEST(PlanRoutes, Ipv6OnlyFullTunnelLeavesIpv4Alone) {
  RoutePlan plan = plan_routes(with_peers({{"::/0", "10.9.0.0/16"}}), 51821);
  EXPECT_EQ(plan.routes,
            (std::vector<Route>{{pfx("10.9.0.0/16"), kMainTable}, {pfx("::/0"), 51821}}));
  EXPECT_EQ(plan.rules, (std::vector<RoutingRule>{
                            RoutingRule::unless_marked(Family::kV6, 51821, 51821),
                            RoutingRule::suppressing(Family::kV6, kMainTable, 0),
                        }));
  EXPECT_EQ(plan.fwmark, 51821u);
  EXPECT_FALSE(plan.src_valid_mark);
}

TEST(PlanRoutes, NoDefaultRouteMeansNoRulesAndTheConfiguredMark) {
  RoutePlan plan = plan_routes(with_peers({{"10.0.0.0/24"}}, {}, 0x77), 51820);
  EXPECT_EQ(plan.routes, (std::vector<Route>{{pfx("10.0.0.0/24"), kMainTable}}));
  EXPECT_TRUE(plan.rules.empty());
  EXPECT_EQ(plan.fwmark, 0x77u);
  EXPECT_FALSE(plan.src_valid_mark);
  EXPECT_EQ(plan_routes(with_peers({{"10.0.0.0/24"}}), 51820).fwmark, 0u);
}

TEST(PlanRoutes, TableOffAddsNothingButKeepsTheMark) {
  RoutePlan plan = plan_routes(with_peers({{"0.0.0.0/0", "10.0.0.0/24"}}, {Mode::kOff, 0}, 5), 0);
  EXPECT_TRUE(plan.routes.empty());
  EXPECT_TRUE(plan.rules.empty());
  EXPECT_EQ(plan.fwmark, 5u);
  EXPECT_FALSE(plan.src_valid_mark);
}

TEST(PlanRoutes, FixedTableTakesEveryRouteDefaultIncluded) {
  RoutePlan plan =
      plan_routes(with_peers({{"0.0.0.0/0", "10.0.0.0/24"}, {"::/0"}}, {Mode::kFixed, 1234}), 0);
  EXPECT_EQ(plan.routes,
            (std::vector<Route>{
                {pfx("10.0.0.0/24"), 1234}, {pfx("0.0.0.0/0"), 1234}, {pfx("::/0"), 1234}}));
  EXPECT_TRUE(plan.rules.empty());
  EXPECT_EQ(plan.fwmark, 0u);
  EXPECT_FALSE(plan.src_valid_mark);
}

// On random configs: every masked prefix routed exactly once, longest first, /0 in the policy
// table exactly when Table is auto, and one pair of rules per family with a /0.
TEST(PlanRoutes, RandomConfigsKeepTheInvariants) {
  std::mt19937 rng(20240611);
  const std::vector<std::string_view> pool = {
      "0.0.0.0/0", "::/0",        "10.0.0.0/8",   "10.1.2.3/16",   "10.1.0.0/16",
      "fd00::/8",  "fd00::7/128", "192.0.2.1/32", "2001:db8::/32", "172.16.0.0/12"};
  for (int round = 0; round < 500; ++round) {
    std::vector<std::vector<std::string_view>> peers(rng() % 4);
    for (auto& p : peers) {
      for (size_t n = rng() % 5; n > 0; --n)
        p.push_back(pool[rng() % pool.size()]);
    }
    config::RouteTable table;
    if (rng() % 3 == 1) table = {Mode::kFixed, static_cast<uint32_t>(100 + rng() % 10)};
    auto c = with_peers(peers, table, rng() % 2 ? 0 : 0x99);
    RoutePlan plan = plan_routes(c, 51820);

    std::set<IpPrefix> want;
    bool v4 = false, v6 = false;
    for (const auto& p : c.peers) {
      for (const auto& a : p.allowed_ips) {
        want.insert(a.masked());
        if (a.length == 0) (a.address.is_v4() ? v4 : v6) = true;
      }
    }
    std::set<IpPrefix> got;
    for (size_t i = 0; i < plan.routes.size(); ++i) {
      const Route& r = plan.routes[i];
      EXPECT_TRUE(got.insert(r.prefix).second) << "routed twice: " << r.prefix.to_string();
      if (i > 0) {
        EXPECT_GE(plan.routes[i - 1].prefix.length, r.prefix.length);
      }
      uint32_t expected = table.mode == Mode::kFixed ? table.id
                          : r.prefix.length == 0     ? 51820u
                                                     : kMainTable;
      EXPECT_EQ(r.table, expected) << r.prefix.to_string();
    }
    EXPECT_EQ(got, want);
    const bool auto_mode = table.mode == Mode::kAuto;
    EXPECT_EQ(plan.rules.size(), auto_mode ? 2u * (v4 + v6) : 0u);
    EXPECT_EQ(plan.src_valid_mark, auto_mode && v4);
    EXPECT_EQ(plan.fwmark, auto_mode && (v4 || v6) ? 51820u : c.fwmark);
  }
}

}  // namespace
}  // namespace tern::agent

// The overlay address of a running agent following its map: a re-addressed machine (new
// address, or a new pool prefix) swaps the interface address without touching its peers.
#include "agent/control_apply.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>

#include "control/agent_map.hpp"
#include "control/network_map.hpp"

namespace tern::agent {
namespace {

IpPrefix P(const char* text) {
  auto p = IpPrefix::parse(text);
  EXPECT_TRUE(p) << text;
  return p.value_or(IpPrefix{});
}

IpAddress A(const char* text) {
  auto a = IpAddress::parse(text);
  EXPECT_TRUE(a) << text;
  return a.value_or(IpAddress{});
}

crypto::Key key(uint8_t b) {
  crypto::Key k{};
  k.fill(b);
  return k;
}

control::NetworkMap map_with_self(const char* v4, const char* v4_pool) {
  control::NetworkMap m;
  m.revision = 1;
  m.self.public_key = key(1);
  m.self.ipv4 = A(v4);
  m.self.ipv6 = A("fd7a:1:2::5");
  m.v4 = P(v4_pool);
  m.v6 = P("fd7a:1:2::/48");
  for (uint8_t i = 2; i < 5; ++i) {
    control::MapPeer p;
    p.public_key = key(i);
    p.ipv4 = IpAddress::v4({100, 64, 0, i});
    p.ipv6 = A("fd7a:1:2::9");
    p.endpoints = {Endpoint{IpAddress::v4({192, 0, 2, i}), 51820}};
    m.peers.push_back(p);
  }
  return m;
}

TEST(PlanAddresses, Table) {
  struct Case {
    const char* what;
    std::vector<IpPrefix> applied, wanted, remove, add;
  };
  const IpPrefix v4 = P("100.64.0.5/10"), v4_new = P("100.64.0.9/10"), v4_pool = P("100.64.0.5/16"),
                 v6 = P("fd7a:1:2::5/48");
  const std::vector<Case> cases = {
      {"first map", {}, {v4, v6}, {}, {v4, v6}},
      {"unchanged", {v4, v6}, {v4, v6}, {}, {}},
      {"re-addressed", {v4, v6}, {v4_new, v6}, {v4}, {v4_new}},
      {"pool prefix changed", {v4, v6}, {v4_pool, v6}, {v4}, {v4_pool}},
      {"address gone", {v4, v6}, {v6}, {v4}, {}},
      {"a failed add is tried again", {v6}, {v4, v6}, {}, {v4}},
  };
  for (const auto& c : cases) {
    const AddressPlan plan = plan_addresses(c.applied, c.wanted);
    EXPECT_EQ(plan.remove, c.remove) << c.what;
    EXPECT_EQ(plan.add, c.add) << c.what;
  }
}

// Whatever was applied and whatever is wanted: after the plan the interface has exactly the
// wanted addresses, and no address is both removed and added.
TEST(PlanAddresses, RandomSetsEndAtWanted) {
  std::mt19937 rng(7);
  std::vector<IpPrefix> universe;
  for (uint8_t i = 0; i < 6; ++i) {
    universe.push_back(IpPrefix{IpAddress::v4({100, 64, 0, i}), 10});
    universe.push_back(IpPrefix{IpAddress::v4({100, 64, 0, i}), 16});
  }
  auto pick = [&] {
    std::vector<IpPrefix> out;
    for (const auto& p : universe)
      if (rng() % 3 == 0) out.push_back(p);
    return out;
  };
  for (int round = 0; round < 2000; ++round) {
    const std::vector<IpPrefix> applied = pick(), wanted = pick();
    const AddressPlan plan = plan_addresses(applied, wanted);
    std::vector<IpPrefix> result = applied;
    for (const auto& r : plan.remove) {
      ASSERT_NE(std::find(result.begin(), result.end(), r), result.end()) << "removes a stranger";
      std::erase(result, r);
    }
    for (const auto& a : plan.add) {
      ASSERT_EQ(std::find(result.begin(), result.end(), a), result.end()) << "adds twice";
      result.push_back(a);
    }
    std::vector<IpPrefix> want = wanted;
    std::sort(result.begin(), result.end());
    std::sort(want.begin(), want.end());
    ASSERT_EQ(result, want);
  }
}

// The whole decision as the agent takes it: a delta that moves this machine to a new address
// (the admin re-addressed it) changes its interface address and no peer.
TEST(PlanAddresses, ReaddressedByADeltaKeepsPeers) {
  control::NetworkMap before = map_with_self("100.64.0.5", "100.64.0.0/10");
  control::MapFollower follower(key(1));
  const auto first = follower.on_map(before);
  EXPECT_EQ(first.changes.size(), 3u);
  std::vector<IpPrefix> applied = overlay_addresses(before);
  ASSERT_EQ(applied.size(), 2u);

  control::NetworkMap after = before;
  after.revision = 2;
  after.self.ipv4 = A("100.64.0.77");
  const auto u = follower.on_map(after);
  EXPECT_TRUE(u.map_changed);
  EXPECT_TRUE(u.changes.empty()) << "peers re-keyed for our own new address";
  const AddressPlan plan = plan_addresses(applied, overlay_addresses(*follower.map()));
  EXPECT_EQ(plan.remove, std::vector<IpPrefix>{P("100.64.0.5/10")});
  EXPECT_EQ(plan.add, std::vector<IpPrefix>{P("100.64.0.77/10")});

  // The server's pool moved: the same address with the new prefix length.
  control::NetworkMap moved = after;
  moved.revision = 3;
  moved.v4 = P("100.64.0.0/16");
  const auto v = follower.on_map(moved);
  EXPECT_TRUE(v.changes.empty());
  const AddressPlan plan2 =
      plan_addresses(overlay_addresses(after), overlay_addresses(*follower.map()));
  EXPECT_EQ(plan2.remove, std::vector<IpPrefix>{P("100.64.0.77/10")});
  EXPECT_EQ(plan2.add, std::vector<IpPrefix>{P("100.64.0.77/16")});
}

}  // namespace
}  // namespace tern::agent

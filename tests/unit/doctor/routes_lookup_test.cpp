#include <gtest/gtest.h>

#include "doctor/routes_lookup.hpp"

namespace tern::doctor {
namespace {

IpAddress ip(const char* s) {
  return *IpAddress::parse(s);
}

NetRoute route(const char* dst, uint32_t oif, uint32_t table = kTableMain,
               const char* via = nullptr, uint32_t metric = 0) {
  NetRoute r;
  r.dst = IpPrefix::parse(dst)->masked();
  r.oif = oif;
  r.table = table;
  if (via) r.gateway = ip(via);
  r.metric = metric;
  return r;
}

NetRule rule(uint32_t priority, uint32_t table) {
  NetRule r;
  r.priority = priority;
  r.table = table;
  return r;
}

// eth0 = 2, wg0 = 3: a LAN, a default route, and wg-quick's full tunnel on wg0 (fwmark 0xca6c).
NetState full_tunnel() {
  NetState s;
  s.links = {{1, "lo"}, {2, "eth0"}, {3, "wg0"}};
  s.routes = {route("0.0.0.0/0", 2, kTableMain, "192.168.1.1"), route("192.168.1.0/24", 2),
              route("0.0.0.0/0", 3, 51820)};
  NetRoute local = route("192.168.1.10/32", 2, kTableLocal);
  local.kind = RouteKind::kLocal;
  s.routes.push_back(local);
  NetRule suppress = rule(32764, kTableMain);
  suppress.suppress_prefixlength = 0;
  NetRule unless = rule(32765, 51820);
  unless.fwmark = 0xca6c;
  unless.invert = true;
  s.rules = {rule(0, kTableLocal), suppress, unless, rule(32766, kTableMain),
             rule(32767, kTableDefault)};
  return s;
}

std::optional<uint32_t> oif_of(const NetState& s, const char* dst, uint32_t mark = 0) {
  return lookup_oif(lookup_route(s, ip(dst), mark));
}

TEST(RoutesLookup, LongestPrefixThenLowestMetric) {
  NetState s;
  s.routes = {route("10.0.0.0/8", 2), route("10.1.0.0/16", 3, kTableMain, nullptr, 200),
              route("10.1.0.0/16", 4, kTableMain, nullptr, 100), route("10.1.2.0/24", 5, 7)};
  EXPECT_EQ(oif_of(s, "10.9.9.9"), 2u);
  EXPECT_EQ(oif_of(s, "10.1.9.9"), 4u);
  EXPECT_EQ(oif_of(s, "10.1.2.3"), 4u);  // table 7 has no rule (default rules only)
  EXPECT_EQ(oif_of(s, "11.0.0.1"), std::nullopt);
  EXPECT_EQ(lookup_route(s, ip("11.0.0.1"), 0).route, nullptr);
  EXPECT_EQ(oif_of(s, "fd00::1"), std::nullopt);
  s.routes[2].dead = true;  // a link that is down
  EXPECT_EQ(oif_of(s, "10.1.9.9"), 3u);
}

TEST(RoutesLookup, WgQuickFullTunnel) {
  const NetState s = full_tunnel();
  EXPECT_EQ(oif_of(s, "8.8.8.8"), 3u);          // into the tunnel
  EXPECT_EQ(oif_of(s, "8.8.8.8", 0xca6c), 2u);  // its own packets: the underlay
  EXPECT_EQ(oif_of(s, "192.168.1.7"), 2u);      // the LAN stays on the LAN
  EXPECT_EQ(oif_of(s, "192.168.1.7", 0xca6c), 2u);
  const auto lk = lookup_route(s, ip("192.168.1.10"), 0);
  ASSERT_NE(lk.route, nullptr);
  EXPECT_EQ(lk.route->kind, RouteKind::kLocal);
  EXPECT_EQ(lk.rule_priority, 0u);
  EXPECT_EQ(lookup_route(s, ip("8.8.8.8"), 0).rule_priority, 32765u);
}

TEST(RoutesLookup, FwmarkMaskThrowGotoAndRefusingRules) {
  NetState s = full_tunnel();
  // A mask: only the low byte is compared.
  s.rules[2].fwmask = 0xff;
  EXPECT_EQ(oif_of(s, "8.8.8.8", 0x116c), 2u);
  // A throw route in 51820 sends the lookup on, to main.
  NetRoute thr = route("9.0.0.0/8", 0, 51820);
  thr.oif.reset();
  thr.kind = RouteKind::kThrow;
  s.routes.push_back(thr);
  EXPECT_EQ(oif_of(s, "9.1.1.1"), 2u);
  // A rule refusing 10.66.0.0/16.
  NetRule refuse = rule(100, 0);
  refuse.action = RuleAction::kProhibit;
  refuse.dst = IpPrefix::parse("10.66.0.0/16");
  s.rules.push_back(refuse);
  EXPECT_EQ(lookup_route(s, ip("10.66.1.1"), 0).refused, RuleAction::kProhibit);
  EXPECT_FALSE(lookup_route(s, ip("10.67.1.1"), 0).refused);
  // goto over the tunnel rules, straight to main.
  NetRule jump = rule(200, 0);
  jump.action = RuleAction::kGoto;
  jump.goto_target = 32766;
  s.rules.push_back(jump);
  EXPECT_EQ(oif_of(s, "8.8.8.8"), 2u);
}

TEST(RoutesLookup, SelectorsOfLocallySentPackets) {
  NetState s;
  s.routes = {route("0.0.0.0/0", 2), route("0.0.0.0/0", 3, 100)};
  NetRule r = rule(10, 100);
  r.iifname = "lo";  // matches what this host sends
  s.rules = {r, rule(32766, kTableMain)};
  EXPECT_EQ(oif_of(s, "1.1.1.1"), 3u);
  s.rules[0].iifname = "eth0";  // forwarded traffic only
  EXPECT_EQ(oif_of(s, "1.1.1.1"), 2u);
  s.rules[0].iifname.clear();
  s.rules[0].src = IpPrefix::parse("10.0.0.0/8");  // a source we do not know yet
  EXPECT_EQ(oif_of(s, "1.1.1.1"), 2u);
  s.rules[0].src.reset();
  s.rules[0].other_selectors = true;  // uid range, ports: taken not to match
  EXPECT_EQ(oif_of(s, "1.1.1.1"), 2u);
  s.rules[0].other_selectors = false;
  EXPECT_EQ(oif_of(s, "1.1.1.1"), 3u);
}

TEST(RoutesLookup, Describe) {
  NetState s = full_tunnel();
  EXPECT_EQ(describe_route(s, s.routes[0]), "default via 192.168.1.1 dev eth0");
  EXPECT_EQ(describe_route(s, s.routes[2]), "default dev wg0 table 51820");
  EXPECT_EQ(describe_route(s, s.routes[3]), "local 192.168.1.10/32 dev eth0 table local");
}

}  // namespace
}  // namespace tern::doctor

namespace tern::doctor {
namespace {

// eth0 = 2 (192.168.1.10), wg0 = 3 (10.10.0.1); table 200 sends everything to eth1 = 4.
NetState by_source() {
  NetState s;
  s.links = {{1, "lo"}, {2, "eth0"}, {3, "wg0"}, {4, "eth1"}};
  s.addresses = {{2, *IpPrefix::parse("192.168.1.10/24")}, {3, *IpPrefix::parse("10.10.0.1/24")}};
  s.routes = {route("0.0.0.0/0", 2), route("10.20.0.0/16", 3), route("0.0.0.0/0", 4, 200)};
  NetRule from = rule(100, 200);
  from.src = IpPrefix::parse("10.10.0.0/24");
  s.rules = {rule(0, kTableLocal), from, rule(32766, kTableMain)};
  return s;
}

TEST(RoutesLookup, FromRulesMatchTheSourceGiven) {
  const auto s = by_source();
  EXPECT_EQ(lookup_oif(lookup_route(s, ip("10.20.1.1"), 0)), 3u);  // no source: main
  EXPECT_EQ(lookup_oif(lookup_route(s, ip("10.20.1.1"), 0, ip("10.10.0.1"))), 4u);
  EXPECT_EQ(lookup_oif(lookup_route(s, ip("10.20.1.1"), 0, ip("192.168.1.10"))), 3u);
  EXPECT_EQ(address_on(s, 3, IpAddress::Family::kV4), ip("10.10.0.1"));
  EXPECT_FALSE(address_on(s, 4, IpAddress::Family::kV4));
}

TEST(RoutesLookup, AnUnboundSocketLooksUpAgainWithTheSourceItGot) {
  auto s = by_source();
  // wg0 gives the source 10.10.0.1, which the from rule sends to eth1.
  EXPECT_EQ(lookup_oif(lookup_route_unbound(s, ip("10.20.1.1"), 0)), 4u);
  // eth0 gives 192.168.1.10, which no rule selects: eth0 stays.
  EXPECT_EQ(lookup_oif(lookup_route_unbound(s, ip("8.8.8.8"), 0)), 2u);
  // An interface without an address: the first lookup stands.
  s.addresses.clear();
  EXPECT_EQ(lookup_oif(lookup_route_unbound(s, ip("10.20.1.1"), 0)), 3u);
}

}  // namespace
}  // namespace tern::doctor

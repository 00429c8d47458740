#include <gtest/gtest.h>

#include "doctor/routes_check.hpp"

namespace tern::doctor {
namespace {

IpPrefix pfx(const char* s) {
  return *IpPrefix::parse(s);
}

NetRoute route(const char* dst, uint32_t oif, const char* via = nullptr,
               uint32_t table = kTableMain) {
  NetRoute r;
  r.dst = pfx(dst).masked();
  r.oif = oif;
  r.table = table;
  if (via) r.gateway = IpAddress::parse(via);
  return r;
}

crypto::Key key(uint8_t b) {
  crypto::Key k{};
  k.fill(b);
  return k;
}

// A laptop: lo 1, eth0 2 (192.168.1.10/24, default via .1), wg0 3 (10.10.0.1/24), docker0 4
// (172.17.0.1/16). wg0 has two peers: A (10.10.0.2/32), B (10.10.0.3/32 and 10.20.0.0/16,
// routed into wg0).
RoutesCheckInput healthy() {
  RoutesCheckInput in;
  auto& n = in.net;
  n.links = {{1, "lo"}, {2, "eth0"}, {3, "wg0"}, {4, "docker0"}};
  n.addresses = {{1, pfx("127.0.0.1/8")},   {2, pfx("192.168.1.10/24")}, {3, pfx("10.10.0.1/24")},
                 {4, pfx("172.17.0.1/16")}, {2, pfx("fe80::1/64")},      {3, pfx("fe80::2/64")}};
  n.routes = {route("0.0.0.0/0", 2, "192.168.1.1"),
              route("192.168.1.0/24", 2),
              route("10.10.0.0/24", 3),
              route("10.20.0.0/16", 3),
              route("172.17.0.0/16", 4),
              route("fe80::/64", 2),
              route("fe80::/64", 3)};
  for (const char* local : {"192.168.1.10/32", "10.10.0.1/32", "127.0.0.0/8", "172.17.0.1/32"}) {
    NetRoute r = route(local, 2, nullptr, kTableLocal);
    r.kind = RouteKind::kLocal;
    n.routes.push_back(r);
  }
  WgInterfaceRoutes wg;
  wg.name = "wg0";
  wg.listen_port = 51820;
  wg.peers = {
      {key(1), Endpoint::parse("203.0.113.5:51820"), {pfx("10.10.0.2/32")}},
      {key(2), Endpoint::parse("198.51.100.7:4500"), {pfx("10.10.0.3/32"), pfx("10.20.0.0/16")}}};
  in.interfaces = {wg};
  in.rp_filter_all = 0;
  in.rp_filter["wg0"] = 0;
  in.nft = std::vector<NftPortRule>{};
  return in;
}

std::vector<std::string> codes(const RoutesReport& r) {
  std::vector<std::string> out;
  for (const auto& i : r.interfaces) {
    for (const auto& f : i.findings)
      out.push_back(f.code);
  }
  return out;
}

using Codes = std::vector<std::string>;

TEST(RoutesCheck, HealthySetupHasNoFinding) {
  auto in = healthy();
  auto r = check_routes(in);
  EXPECT_EQ(codes(r), Codes{}) << render_routes_human(r);
  EXPECT_FALSE(has_findings(r));
  ASSERT_EQ(r.interfaces.size(), 1u);
  EXPECT_EQ(r.interfaces[0].overlay.size(), 4u);  // 10.10.0.0/24, 10.20.0.0/16, two /32s
  // Strict rp_filter is harmless when every overlay source routes back into wg0.
  in.rp_filter_all = 1;
  EXPECT_EQ(codes(check_routes(in)), Codes{});
}

TEST(RoutesCheck, OverlayOverlapsABridge) {
  auto in = healthy();
  // The overlay is CGNAT space, and a container network took a piece of it.
  in.net.addresses[2] = {3, pfx("100.64.0.1/10")};
  in.net.routes[2] = route("100.64.0.0/10", 3);
  in.net.addresses.push_back({5, pfx("100.64.5.1/24")});
  in.net.links.push_back({5, "br-lab"});
  in.net.routes.push_back(route("100.64.5.0/24", 5));
  in.interfaces[0].peers[0].allowed_ips = {pfx("100.64.0.2/32")};
  in.interfaces[0].peers[1].allowed_ips = {pfx("100.64.0.3/32"), pfx("10.20.0.0/16")};
  auto r = check_routes(in);
  ASSERT_EQ(codes(r), Codes{"route_overlap_lan"}) << render_routes_human(r);
  const auto& f = r.interfaces[0].findings[0];
  EXPECT_EQ(f.objects,
            (std::vector<std::string>{"wg0", "100.64.0.0/10", "br-lab", "100.64.5.0/24"}));
  EXPECT_NE(f.message.find("br-lab wins for 100.64.5.0/24"), std::string::npos) << f.message;
  EXPECT_NE(f.message.find("move the overlay"), std::string::npos);
}

TEST(RoutesCheck, OverlayInsideABroaderLan) {
  auto in = healthy();
  in.net.addresses[1] = {2, pfx("10.0.0.10/8")};
  in.net.routes[1] = route("10.0.0.0/8", 2);
  auto r = check_routes(in);
  // One finding per LAN prefix, about the widest overlay range inside it.
  ASSERT_EQ(codes(r), Codes{"route_overlap_lan"}) << render_routes_human(r);
  EXPECT_NE(r.interfaces[0].findings[0].message.find("wg0 wins for 10.20.0.0/16"),
            std::string::npos)
      << r.interfaces[0].findings[0].message;
}

TEST(RoutesCheck, MoreSpecificRouteStealsAllowedIps) {
  auto in = healthy();
  in.net.routes.push_back(route("10.20.5.0/24", 2, "192.168.1.1"));
  auto r = check_routes(in);
  ASSERT_EQ(codes(r), Codes{"route_stolen"}) << render_routes_human(r);
  const auto& f = r.interfaces[0].findings[0];
  EXPECT_NE(f.message.find("10.20.5.0/24 of peer"), std::string::npos) << f.message;
  EXPECT_NE(f.message.find("`10.20.5.0/24 via 192.168.1.1 dev eth0`"), std::string::npos);
  // Strict rp_filter now drops what comes from there through wg0... only when the sample is
  // the stolen part: 10.20.0.0 itself still routes into wg0.
  in.rp_filter_all = 1;
  EXPECT_EQ(codes(check_routes(in)), Codes{"route_stolen"});
  // The same route in a table no rule reaches steals nothing.
  in.net.routes.back().table = 77;
  EXPECT_EQ(codes(check_routes(in)), Codes{});
}

TEST(RoutesCheck, AllowedIpsWithoutARouteIntoTheTunnel) {
  auto in = healthy();
  in.net.routes.erase(in.net.routes.begin() + 3);  // 10.20.0.0/16 dev wg0
  auto r = check_routes(in);
  ASSERT_EQ(codes(r), Codes{"route_stolen"}) << render_routes_human(r);
  EXPECT_NE(r.interfaces[0].findings[0].message.find("ip route add 10.20.0.0/16 dev wg0"),
            std::string::npos);
  // Strict rp_filter: replies from 10.20.0.0/16 arriving on wg0 would be dropped too.
  in.rp_filter["wg0"] = 1;
  r = check_routes(in);
  ASSERT_EQ(codes(r), (Codes{"route_stolen", "rp_filter_strict"})) << render_routes_human(r);
  EXPECT_NE(r.interfaces[0].findings[1].message.find("net.ipv4.conf.wg0.rp_filter = 1"),
            std::string::npos);
  // Loose mode (2) checks only that some route back exists.
  in.rp_filter["wg0"] = 2;
  EXPECT_EQ(codes(check_routes(in)), Codes{"route_stolen"});
}

TEST(RoutesCheck, FullTunnelWithFwmarkIsHealthy) {
  auto in = healthy();
  in.interfaces[0].fwmark = 0xca6c;
  in.interfaces[0].peers[0].allowed_ips = {pfx("0.0.0.0/0"), pfx("::/0")};
  in.net.routes.push_back(route("0.0.0.0/0", 3, nullptr, 51820));
  NetRule local, suppress, unless, main;
  local.table = kTableLocal;
  suppress.priority = 32764;
  suppress.suppress_prefixlength = 0;
  unless.priority = 32765;
  unless.table = 51820;
  unless.fwmark = 0xca6c;
  unless.invert = true;
  main.priority = 32766;
  in.net.rules = {local, suppress, unless, main};
  in.rp_filter_all = 1;
  auto r = check_routes(in);
  EXPECT_EQ(codes(r), Codes{}) << render_routes_human(r);
  // Without the `not fwmark` rule's exception the endpoint's packets loop into wg0.
  in.interfaces[0].fwmark = 0;
  r = check_routes(in);
  ASSERT_EQ(codes(r), (Codes{"endpoint_via_tunnel", "endpoint_via_tunnel"}))
      << render_routes_human(r);
  EXPECT_NE(r.interfaces[0].findings[0].message.find("203.0.113.5:51820 is routed into wg0"),
            std::string::npos)
      << r.interfaces[0].findings[0].message;
}

TEST(RoutesCheck, EndpointInsideTheAllowedIps) {
  auto in = healthy();
  // Peer B's endpoint sits inside its own allowed IPs.
  in.interfaces[0].peers[1].endpoint = Endpoint::parse("10.20.0.9:51820");
  auto r = check_routes(in);
  ASSERT_EQ(codes(r), Codes{"endpoint_via_tunnel"}) << render_routes_human(r);
  // A host route through the underlay fixes it.
  in.net.routes.push_back(route("10.20.0.9/32", 2, "192.168.1.1"));
  r = check_routes(in);
  // ... and is itself a more specific route taking that address from the peer.
  EXPECT_EQ(codes(r), Codes{"route_stolen"}) << render_routes_human(r);
}

TEST(RoutesCheck, FirewallDropsTheListenPort) {
  auto in = healthy();
  NftPortRule drop;
  drop.family = "inet";
  drop.table = "filter";
  drop.chain = "input";
  drop.handle = 5;
  drop.verdict = "drop";
  drop.ports = std::vector<std::pair<uint16_t, uint16_t>>{{51820, 51820}};
  drop.packets = 12;
  in.nft = std::vector<NftPortRule>{drop};
  auto r = check_routes(in);
  ASSERT_EQ(codes(r), Codes{"firewall_drops_port"});
  const auto& f = r.interfaces[0].findings[0];
  EXPECT_NE(f.message.find("(12 packets so far) drops wg0's UDP listen port 51820"),
            std::string::npos)
      << f.message;
  in.nft->front().ports = std::vector<std::pair<uint16_t, uint16_t>>{{53, 53}};
  EXPECT_EQ(codes(check_routes(in)), Codes{});
  in.nft.reset();  // not read
  EXPECT_EQ(codes(check_routes(in)), Codes{});
}

TEST(RoutesCheck, Ipv6OverlayIsHealthyAndItsOverlapIsFound) {
  auto in = healthy();
  auto& n = in.net;
  n.addresses.push_back({3, pfx("fd00:77::1/64")});
  n.addresses.push_back({2, pfx("2001:db8:1::10/64")});
  n.routes.push_back(route("fd00:77::/64", 3));
  n.routes.push_back(route("2001:db8:1::/64", 2));
  n.routes.push_back(route("::/0", 2, "fe80::1"));
  // The kernel's local table: the address, the subnet-router anycast, multicast.
  for (auto [p, kind] : {std::pair{"fd00:77::1/128", RouteKind::kLocal},
                         std::pair{"fd00:77::/128", RouteKind::kAnycast},
                         std::pair{"ff00::/8", RouteKind::kMulticast}}) {
    NetRoute r = route(p, 3, nullptr, kTableLocal);
    r.kind = kind;
    n.routes.push_back(r);
  }
  in.interfaces[0].peers[0].allowed_ips.push_back(pfx("fd00:77::2/128"));
  in.interfaces[0].peers[1].allowed_ips.push_back(pfx("fd00:77::/64"));
  auto r = check_routes(in);
  EXPECT_EQ(codes(r), Codes{}) << render_routes_human(r);
  // A LAN on a ULA prefix inside the overlay's.
  n.addresses.push_back({4, pfx("fd00:77::8000:1/112")});
  n.routes.push_back(route("fd00:77::8000:0/112", 4));
  r = check_routes(in);
  ASSERT_EQ(codes(r), Codes{"route_overlap_lan"}) << render_routes_human(r);
  EXPECT_NE(r.interfaces[0].findings[0].message.find("docker0 wins for fd00:77::8000:0/112"),
            std::string::npos)
      << r.interfaces[0].findings[0].message;
}

TEST(RoutesCheck, JsonShape) {
  auto in = healthy();
  in.net.routes.push_back(route("10.20.5.0/24", 2, "192.168.1.1"));
  auto r = check_routes(in);
  r.notes.push_back("firewall not checked: nft is not installed");
  const auto j = routes_to_json(r);
  EXPECT_EQ(j["version"], 1);
  EXPECT_EQ(j["findings"], true);
  EXPECT_EQ(j["notes"].size(), 1u);
  ASSERT_EQ(j["interfaces"].size(), 1u);
  EXPECT_EQ(j["interfaces"][0]["interface"], "wg0");
  EXPECT_EQ(j["interfaces"][0]["listen_port"], 51820);
  EXPECT_EQ(j["interfaces"][0]["findings"][0]["code"], "route_stolen");
  EXPECT_TRUE(j["interfaces"][0]["findings"][0]["objects"].is_array());
  EXPECT_TRUE(j["interfaces"][0]["error"].is_null());
}

}  // namespace
}  // namespace tern::doctor

namespace tern::doctor {
namespace {

// The kernel's default rules and one more: `from FROM lookup TABLE` at priority 100.
void add_from_rule(RoutesCheckInput& in, const char* from, uint32_t table) {
  NetRule local, main_rule, r;
  local.table = kTableLocal;
  main_rule.priority = 32766;
  r.priority = 100;
  r.table = table;
  r.src = pfx(from);
  in.net.rules = {local, r, main_rule};
}

TEST(RoutesCheck, AFromRuleThatSendsTheOverlaySourceElsewhereStealsIt) {
  auto in = healthy();
  add_from_rule(in, "10.10.0.0/24", 200);
  in.net.routes.push_back(route("0.0.0.0/0", 2, "192.168.1.1", 200));
  const auto r = check_routes(in);
  ASSERT_FALSE(codes(r).empty());
  for (const auto& c : codes(r))
    EXPECT_EQ(c, "route_stolen") << render_routes_human(r);
  EXPECT_NE(render_routes_human(r).find("table 200"), std::string::npos) << render_routes_human(r);
}

TEST(RoutesCheck, AnOverlayRoutedBySourceIsRouted) {
  auto in = healthy();
  // 10.20.0.0/16 only in table 51820, reached by the overlay's own source address.
  std::erase_if(in.net.routes, [](const NetRoute& r) { return r.dst == pfx("10.20.0.0/16"); });
  in.net.routes.push_back(route("10.20.0.0/16", 3, nullptr, 51820));
  add_from_rule(in, "10.10.0.0/24", 51820);
  EXPECT_EQ(codes(check_routes(in)), Codes{}) << render_routes_human(check_routes(in));
}

TEST(RoutesCheck, AFromRuleOnTheUnderlaySourceLoopsTheEndpoints) {
  auto in = healthy();
  // What the underlay's address sends goes into the tunnel: WireGuard's own packets too.
  add_from_rule(in, "192.168.1.10/32", 300);
  in.net.routes.push_back(route("0.0.0.0/0", 3, nullptr, 300));
  const auto r = check_routes(in);
  EXPECT_EQ(codes(r), (Codes{"endpoint_via_tunnel", "endpoint_via_tunnel"}))
      << render_routes_human(r);
}

}  // namespace
}  // namespace tern::doctor

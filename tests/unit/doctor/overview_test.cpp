#include "doctor/overview.hpp"

#include <gtest/gtest.h>

namespace tern::doctor {
namespace {

using std::chrono::seconds;

WgInterfaceReport interface_with_peer(std::vector<WgFinding> findings = {}) {
  WgInterfaceReport r;
  r.ifname = "wg0";
  r.source = "uapi";
  WgPeerReport p;
  p.public_key[0] = 1;
  p.ping = WgTunnelPing{*IpAddress::parse("10.77.0.2"), 1420, ""};
  p.findings = std::move(findings);
  r.peers.push_back(p);
  return r;
}

NatReport nat(Mapping m, std::optional<int> alive, std::optional<int> dead) {
  NatReport r;
  r.discovery.mapping = m;
  r.discovery.filtering = Filtering::kAddressAndPortDependent;
  LifetimeResult l;
  if (alive) l.alive_max = seconds(*alive);
  if (dead) l.dead_min = seconds(*dead);
  r.lifetime = l;
  return r;
}

const CheckRun& check(const Overview& o, std::string_view name) {
  for (const auto& c : o.checks) {
    if (c.name == name) return c;
  }
  static const CheckRun none{};
  ADD_FAILURE() << "no check " << name;
  return none;
}

std::vector<std::string> codes(const Overview& o) {
  std::vector<std::string> out;
  for (const auto& f : o.findings)
    out.push_back(f.code);
  return out;
}

TEST(Overview, HealthyOverlayHasNoFindingAndExitsZero) {
  OverviewInputs in;
  in.wg = std::vector{interface_with_peer()};
  in.nat = Result<NatReport>(nat(Mapping::kEndpointIndependent, 48, {}));
  in.nat_lifetime_note = "NAT mapping lifetime: at least 48 s";
  in.relay_skipped = "no relay given";
  in.routes_skipped = "not in this build";
  const auto o = assemble_overview(in);
  EXPECT_TRUE(o.findings.empty());
  EXPECT_EQ(o.exit_status(), 0);
  std::vector<std::string> names;
  for (const auto& c : o.checks)
    names.push_back(c.name);
  EXPECT_EQ(names,
            (std::vector<std::string>{"wg", "mtu", "nat", "nat_lifetime", "relay", "routes"}));
  EXPECT_TRUE(check(o, "wg").ran);
  EXPECT_TRUE(check(o, "mtu").ran);
  EXPECT_TRUE(check(o, "nat").ran);
  EXPECT_TRUE(check(o, "nat_lifetime").ran);
  EXPECT_FALSE(check(o, "relay").ran);
  EXPECT_EQ(check(o, "relay").skipped_because, "no relay given");
  const auto j = overview_to_json(o);
  EXPECT_EQ(j["healthy"], true);
  EXPECT_TRUE(j["findings"].empty());
  EXPECT_TRUE(j["checks"][0]["skipped_because"].is_null());
  EXPECT_EQ(j["checks"][4]["skipped_because"], "no relay given");
  EXPECT_TRUE(j["details"].contains("wg"));
  EXPECT_TRUE(j["details"].contains("nat"));
  EXPECT_NE(render_overview_human(o).find("nothing wrong found"), std::string::npos);
}

TEST(Overview, WithoutRootEachCheckSaysWhyAndTheOthersStillRun) {
  OverviewInputs in;
  WgInterfaceReport r;
  r.ifname = "wg0";
  r.error = "connect /var/run/wireguard/wg0.sock: Permission denied";
  in.wg = std::vector{r};
  in.nat = Result<NatReport>(nat(Mapping::kAddressAndPortDependent, {}, {}));
  in.nat->value().lifetime.reset();
  in.quick = true;
  const auto o = assemble_overview(in);
  EXPECT_FALSE(check(o, "wg").ran);
  EXPECT_NE(check(o, "wg").skipped_because.find("Permission denied"), std::string::npos);
  EXPECT_NE(check(o, "wg").skipped_because.find("sudo tern doctor"), std::string::npos);
  // An error that already says how is not told twice.
  in.wg->front().error = "connecting was refused (Permission denied): run it with sudo";
  const auto twice = assemble_overview(in).checks.front().skipped_because;
  EXPECT_EQ(twice.find("sudo tern doctor"), std::string::npos) << twice;
  EXPECT_FALSE(check(o, "mtu").ran);
  EXPECT_FALSE(check(o, "mtu").skipped_because.empty());
  EXPECT_TRUE(check(o, "nat").ran);
  EXPECT_EQ(check(o, "nat_lifetime").skipped_because, "--quick");
  EXPECT_EQ(codes(o), (std::vector<std::string>{"nat_symmetric"}));
  EXPECT_EQ(o.exit_status(), 1);
}

TEST(Overview, NoInterfaceNoServer) {
  OverviewInputs in;
  in.wg = std::vector<WgInterfaceReport>{};
  in.nat_skipped = "no STUN server known";
  const auto o = assemble_overview(in);
  EXPECT_NE(check(o, "wg").skipped_because.find("no WireGuard interface"), std::string::npos);
  EXPECT_FALSE(check(o, "mtu").ran);
  EXPECT_EQ(check(o, "nat").skipped_because, "no STUN server known");
  EXPECT_EQ(check(o, "nat_lifetime").skipped_because, "no STUN server known");
  EXPECT_EQ(o.exit_status(), 0);
}

TEST(Overview, PingFailuresAreReportedNotFound) {
  OverviewInputs in;
  auto r = interface_with_peer();
  r.peers[0].ping->error = "raw socket: Operation not permitted";
  r.peers[0].ping->largest_answered.reset();
  in.wg = std::vector{r};
  in.df_ping = true;
  const auto o = assemble_overview(in);
  EXPECT_TRUE(check(o, "wg").ran);
  EXPECT_FALSE(check(o, "mtu").ran);
  EXPECT_NE(check(o, "mtu").skipped_because.find("sudo"), std::string::npos);
  in.df_ping = false;
  EXPECT_NE(check(assemble_overview(in), "mtu").skipped_because.find("--no-ping"),
            std::string::npos);
}

TEST(Overview, KeepaliveIsJudgedPerPeerNotTwice) {
  OverviewInputs in;
  in.wg = std::vector{
      interface_with_peer({{"keepalive_exceeds_nat_lifetime", "keepalive 25 s but ...: set 10"}})};
  in.nat = Result<NatReport>(nat(Mapping::kEndpointIndependent, 14, 16));
  const auto o = assemble_overview(in);
  EXPECT_EQ(codes(o), (std::vector<std::string>{"keepalive_exceeds_nat_lifetime"}));
  // Without a peer here, the NAT check's own judgement stays.
  in.wg = std::vector<WgInterfaceReport>{};
  EXPECT_EQ(codes(assemble_overview(in)), (std::vector<std::string>{"nat_short_lifetime"}));
}

TEST(Overview, FindingsFromEveryCheckMostLikelyFirst) {
  OverviewInputs in;
  in.wg = std::vector{interface_with_peer(
      {{"one_way_loss", "a"}, {"endpoint_flapping", "b"}, {"tunnel_mtu_black_hole", "c"}})};
  in.nat = Result<NatReport>(nat(Mapping::kAddressAndPortDependent, 48, {}));
  RelayUrlResult relay;
  relay.url = "turn:192.0.2.2:3478?transport=udp";
  relay.findings.push_back({"relay_unreachable", "no answer: check the firewall", false});
  in.relay = std::vector{relay};
  RoutesReport routes;
  RoutesInterfaceReport ri;
  ri.name = "wg0";
  ri.findings.push_back({"route_overlap_lan", "m", {}});
  routes.interfaces.push_back(ri);
  in.routes = routes;
  const auto o = assemble_overview(in);
  EXPECT_EQ(codes(o), (std::vector<std::string>{"route_overlap_lan", "relay_unreachable",
                                                "tunnel_mtu_black_hole", "nat_symmetric",
                                                "endpoint_flapping", "one_way_loss"}));
  EXPECT_TRUE(check(o, "relay").ran);
  EXPECT_TRUE(check(o, "routes").ran);
  EXPECT_EQ(check(o, "routes").detail, "wg0");
  const auto j = overview_to_json(o);
  EXPECT_EQ(j["findings"][0]["code"], "route_overlap_lan");
  EXPECT_EQ(j["healthy"], false);
  const auto text = render_overview_human(o);
  EXPECT_NE(text.find(" 1. error   interface wg0: [route_overlap_lan] m"), std::string::npos);
}

TEST(Overview, NatErrorIsASkipNotAFinding) {
  OverviewInputs in;
  in.wg = std::vector<WgInterfaceReport>{};
  in.nat = Result<NatReport>(fail("cannot resolve stun.example: Name or service not known"));
  const auto o = assemble_overview(in);
  EXPECT_FALSE(check(o, "nat").ran);
  EXPECT_NE(check(o, "nat").skipped_because.find("cannot resolve"), std::string::npos);
  EXPECT_TRUE(o.findings.empty());
}

}  // namespace
}  // namespace tern::doctor

namespace tern::doctor {
namespace {

// The NAT check and the relay check both failed on one server.
OverviewInputs dead_server(std::string stun_code, std::string relay_code,
                           std::string relay_host = "192.0.2.2") {
  OverviewInputs in;
  in.wg_skipped = "none here";
  NatReport n;
  n.discovery.server = Endpoint::parse("192.0.2.2:3478");
  n.discovery.error = "no answer from 192.0.2.2:3478";
  if (stun_code == "stun_server_fault") n.discovery.server_faults.push_back("it sent garbage");
  in.nat = Result<NatReport>(n);
  RelayUrlResult relay;
  relay.url = "turn:" + relay_host + ":3478?transport=udp";
  relay.server = Endpoint::parse(relay_host + ":3478");
  relay.findings.push_back({relay_code, "the relay's words", false});
  in.relay = std::vector{relay};
  return in;
}

TEST(Overview, OneDeadServerIsOneFinding) {
  // Both say only "no answer": the relay's finding stays, the NAT check's is folded into it.
  auto o = assemble_overview(dead_server("stun_unreachable", "relay_unreachable"));
  ASSERT_EQ(codes(o), (std::vector<std::string>{"relay_unreachable"}));
  EXPECT_NE(o.findings[0].message.find("the relay's words"), std::string::npos);
  EXPECT_NE(o.findings[0].message.find("nat check failed on the same server: stun_unreachable"),
            std::string::npos)
      << o.findings[0].message;
  EXPECT_EQ(o.exit_status(), 1);
  // The more specific one stays, whichever check found it.
  o = assemble_overview(dead_server("stun_server_fault", "relay_unreachable"));
  ASSERT_EQ(codes(o), (std::vector<std::string>{"stun_server_fault"}));
  EXPECT_NE(o.findings[0].message.find("relay_unreachable, folded here"), std::string::npos);
  o = assemble_overview(dead_server("stun_unreachable", "relay_server_fault"));
  EXPECT_EQ(codes(o), (std::vector<std::string>{"relay_server_fault"}));
  o = assemble_overview(dead_server("stun_server_fault", "relay_server_fault"));
  EXPECT_EQ(codes(o), (std::vector<std::string>{"relay_server_fault"}));
}

TEST(Overview, DifferentServersOrCausesAreNotFolded) {
  // Another server: two causes.
  auto o = assemble_overview(dead_server("stun_unreachable", "relay_unreachable", "192.0.2.3"));
  EXPECT_EQ(codes(o), (std::vector<std::string>{"relay_unreachable", "stun_unreachable"}));
  // The same server, but the relay's finding is about something else.
  o = assemble_overview(dead_server("stun_unreachable", "relay_ports_blocked"));
  EXPECT_EQ(codes(o), (std::vector<std::string>{"relay_ports_blocked", "stun_unreachable"}));
}

}  // namespace
}  // namespace tern::doctor

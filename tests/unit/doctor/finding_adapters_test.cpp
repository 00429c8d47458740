#include "doctor/finding_adapters.hpp"

#include <gtest/gtest.h>

#include "crypto/key_encoding.hpp"

namespace tern::doctor {
namespace {

using std::chrono::seconds;

NatReport nat_report(Mapping m, std::optional<int> alive, std::optional<int> dead) {
  NatReport r;
  r.discovery.mapping = m;
  r.discovery.filtering = Filtering::kAddressAndPortDependent;
  LifetimeResult l;
  if (alive) l.alive_max = seconds(*alive);
  if (dead) l.dead_min = seconds(*dead);
  r.lifetime = l;
  return r;
}

TEST(FindingAdapters, WgPeerFindingsNameThePeerAndItsInterface) {
  WgInterfaceReport r;
  r.ifname = "wg0";
  WgPeerReport p;
  p.public_key[0] = 9;
  p.findings.push_back({"endpoint_flapping", "the endpoint alternates"});
  p.findings.push_back({"one_way_loss", "lost one way"});
  r.peers.push_back(p);
  r.peers.push_back(WgPeerReport{});  // healthy: nothing
  const auto f = findings_from_wg({r});
  ASSERT_EQ(f.size(), 2u);
  EXPECT_EQ(f[0].code, "endpoint_flapping");
  EXPECT_EQ(f[0].check, "wg");
  EXPECT_EQ(f[0].severity, Severity::kError);
  EXPECT_EQ(f[0].subject.kind, SubjectKind::kPeer);
  EXPECT_EQ(f[0].subject.name, crypto::key_to_base64(p.public_key));
  EXPECT_EQ(f[0].subject.interface, "wg0");
  EXPECT_EQ(f[1].message, "lost one way");
}

TEST(FindingAdapters, NatKeepsItsCodesAndLeavesKeepalivesToThePeers) {
  // 14-16 s: keepalive 10 holds it, 25 does not.
  auto r = nat_report(Mapping::kAddressAndPortDependent, 14, 16);
  auto alone = findings_from_nat(r, false);
  ASSERT_EQ(alone.size(), 2u);
  EXPECT_EQ(alone[0].code, "nat_symmetric");
  EXPECT_EQ(alone[0].severity, Severity::kWarning);
  EXPECT_EQ(alone[0].subject.kind, SubjectKind::kHost);
  EXPECT_EQ(alone[1].code, "nat_short_lifetime");
  EXPECT_EQ(alone[1].severity, Severity::kError);
  // Every nat_findings() code comes through unchanged.
  const auto own = nat_findings(r);
  ASSERT_EQ(own.size(), alone.size());
  for (size_t i = 0; i < own.size(); ++i)
    EXPECT_EQ(own[i].code, alone[i].code);
  auto with_peers = findings_from_nat(r, true);
  ASSERT_EQ(with_peers.size(), 1u);
  EXPECT_EQ(with_peers[0].code, "nat_symmetric");
  EXPECT_TRUE(findings_from_nat(nat_report(Mapping::kEndpointIndependent, 60, {}), false).empty());
}

TEST(FindingAdapters, MtuCausesBecomeCodes) {
  MtuReport r;
  r.target = "192.0.2.2";
  r.findings.push_back({MtuCause::kPtbFiltered, "1281 bytes vanish", "set MTU 1220"});
  r.findings.push_back({MtuCause::kNoEchoReply, "no echo", ""});
  auto f = findings_from_mtu(r);
  ASSERT_EQ(f.size(), 2u);
  EXPECT_EQ(f[0].code, "ptb_filtered");
  EXPECT_EQ(f[0].message, "1281 bytes vanish: set MTU 1220");
  EXPECT_EQ(f[0].subject.name, "192.0.2.2");
  EXPECT_EQ(f[1].severity, Severity::kWarning);
  MtuPeer peer;
  peer.public_key = "PK=";
  peer.interface_name = "tern0";
  r.peer = peer;
  EXPECT_EQ(findings_from_mtu(r)[0].subject, (Subject{SubjectKind::kPeer, "PK=", "tern0"}));
}

TEST(FindingAdapters, RelayFindingsKeepTheirCodes) {
  RelayUrlResult r;
  r.url = "turn:192.0.2.2:3478?transport=udp";
  r.findings.push_back(
      {"relay_address_private", "relayed address 10.0.0.5: set external-ip", true});
  r.findings.push_back({"relay_ports_blocked", "no data came back: open 49152-65535", false});
  const auto f = findings_from_relay({r, RelayUrlResult{}});
  ASSERT_EQ(f.size(), 2u);
  EXPECT_EQ(f[0].code, "relay_address_private");
  EXPECT_EQ(f[0].severity, Severity::kWarning);
  EXPECT_EQ(f[0].message, "relayed address 10.0.0.5: set external-ip");
  EXPECT_EQ(f[0].subject, (Subject{SubjectKind::kRelay, r.url, ""}));
  EXPECT_EQ(f[0].check, "relay");
  EXPECT_EQ(f[1].code, "relay_ports_blocked");
  EXPECT_EQ(f[1].severity, Severity::kError);
}

TEST(FindingAdapters, RoutesFindingsNameTheInterface) {
  RoutesReport r;
  RoutesInterfaceReport i;
  i.name = "wg0";
  i.findings.push_back({"route_overlap_lan", "10.0.0.0/24 is also the LAN: renumber", {"eth0"}});
  r.interfaces.push_back(i);
  r.interfaces.push_back(RoutesInterfaceReport{});
  const auto f = findings_from_routes(r);
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].code, "route_overlap_lan");
  EXPECT_EQ(f[0].subject, (Subject{SubjectKind::kInterface, "wg0", ""}));
  EXPECT_EQ(f[0].check, "routes");
  EXPECT_EQ(f[0].message, "10.0.0.0/24 is also the LAN: renumber");
}

}  // namespace
}  // namespace tern::doctor

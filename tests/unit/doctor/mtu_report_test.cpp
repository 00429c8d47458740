#include "doctor/mtu_report.hpp"

#include <gtest/gtest.h>

namespace tern::doctor {
namespace {

// A DF-ping result as the runner would give it: answered up to `mtu`, lost from mtu + 1.
DfPingResult path(const char* target, size_t mtu, size_t max, unsigned too_big,
                  std::optional<uint32_t> kernel) {
  DfPingResult r;
  r.target = *IpAddress::parse(target);
  r.min_size = r.target.is_v4() ? 68 : 1280;
  r.max_size = max;
  r.kernel_pmtu_before = 1500;
  r.kernel_pmtu_after = kernel;
  auto& s = r.search;
  s.probes_sent = 20;
  s.replies = mtu ? 10 : 0;
  if (mtu) s.largest_answered = mtu;
  if (mtu && mtu < max) s.smallest_lost = mtu + 1;
  s.exact = mtu != 0;
  s.too_big_errors = too_big;
  if (too_big) s.too_big_mtu = static_cast<uint32_t>(mtu);
  s.sizes = {{mtu ? mtu : 84, 1, mtu ? SizeOutcome::kAnswered : SizeOutcome::kLost},
             {mtu + 1, 3, too_big ? SizeOutcome::kTooBig : SizeOutcome::kLost}};
  return r;
}

std::vector<std::string> causes(const MtuReport& r) {
  std::vector<std::string> out;
  for (const auto& f : r.findings)
    out.emplace_back(mtu_cause_name(f.cause));
  return out;
}

TEST(MtuReport, FilteredPacketTooBigIsAFindingWithTheMtuToConfigure) {
  struct Case {
    const char* target;
    size_t mtu;
    unsigned too_big;
    uint32_t kernel;
    std::vector<std::string> causes;
    size_t recommended;
  };
  const Case cases[] = {
      {"192.0.2.2", 1280, 0, 1500, {"ptb_filtered"}, 1220},
      {"2001:db8::2", 1280, 0, 1500, {"ptb_filtered"}, 1200},
      {"192.0.2.2", 1280, 2, 1280, {}, 1220},  // PMTUD works: the kernel learned it
      {"192.0.2.2", 1500, 0, 1500, {}, 1440},  // nothing lost
      {"192.0.2.2", 1400, 0, 1400, {}, 1340},  // kernel already knows (route MTU)
      {"2001:db8::2", 1500, 0, 1500, {}, 1420},
  };
  for (const auto& c : cases) {
    MtuReport report;
    report.target = c.target;
    report.underlay = path(c.target, c.mtu, 1500, c.too_big, c.kernel);
    analyze(report);
    EXPECT_EQ(causes(report), c.causes) << c.target << " " << c.mtu;
    ASSERT_TRUE(report.recommended_mtu) << c.target;
    EXPECT_EQ(*report.recommended_mtu, c.recommended) << c.target << " " << c.mtu;
    EXPECT_EQ(report.healthy(), c.causes.empty());
  }
}

TEST(MtuReport, SilentHostIsAFindingOnlyWhenItIsTheTarget) {
  MtuReport host;
  host.target = "192.0.2.9";
  host.underlay = path("192.0.2.9", 0, 1500, 0, 1500);
  analyze(host);
  EXPECT_EQ(causes(host), std::vector<std::string>{"no_echo_reply"});
  EXPECT_FALSE(host.recommended_mtu);

  // A peer's endpoint behind a NAT often ignores echo: a note, and the tunnel decides.
  MtuReport peer;
  peer.target = "10.9.0.2";
  peer.peer = MtuPeer{};
  peer.peer->interface_name = "tern0";
  peer.peer->interface_mtu = 1420;
  peer.underlay = path("192.0.2.9", 0, 1500, 0, 1500);
  peer.overlay = path("10.9.0.2", 1420, 1420, 0, 1420);
  analyze(peer);
  EXPECT_TRUE(peer.findings.empty());
  EXPECT_FALSE(peer.notes.empty());
  ASSERT_TRUE(peer.recommended_mtu);
  EXPECT_EQ(*peer.recommended_mtu, 1420u);
}

TEST(MtuReport, BlackHoleInsideTheTunnel) {
  MtuReport r;
  r.target = "10.9.0.2";
  r.peer = MtuPeer{};
  r.peer->interface_name = "wg0";
  r.peer->interface_mtu = 1420;
  r.peer->agent_reports_mtu = true;
  r.underlay = path("192.0.2.2", 1500, 1500, 0, 1500);
  r.overlay = path("10.9.0.2", 1220, 1420, 0, 1420);
  analyze(r);
  EXPECT_EQ(causes(r), std::vector<std::string>{"tunnel_black_hole"});
  EXPECT_NE(r.findings[0].fix.find("set MTU 1220 on wg0"), std::string::npos) << r.findings[0].fix;

  // tern's own TUN boundary answering "too big" is PMTUD working, not a black hole.
  r.overlay = path("10.9.0.2", 1220, 1420, 3, 1420);
  analyze(r);
  EXPECT_TRUE(r.findings.empty());

  r.overlay = path("10.9.0.2", 0, 1420, 0, 1420);
  analyze(r);
  EXPECT_EQ(causes(r), std::vector<std::string>{"overlay_unreachable"});
}

TEST(MtuReport, HostThroughATunnelInterfaceIsJudgedAsATunnel) {
  MtuReport r;
  r.target = "100.64.0.7";
  r.overlay = path("100.64.0.7", 1216, 1420, 0, 1420);
  r.overlay->interface_name = "wt0";
  analyze(r);
  EXPECT_EQ(causes(r), std::vector<std::string>{"tunnel_black_hole"});
  EXPECT_NE(r.findings[0].detail.find("to 100.64.0.7"), std::string::npos) << r.findings[0].detail;
  EXPECT_EQ(r.findings[0].fix, "set MTU 1216 on wt0");
  ASSERT_TRUE(r.recommended_mtu);
  EXPECT_EQ(*r.recommended_mtu, 1216u);
  EXPECT_EQ(to_json(r)["mode"], "host");
}

TEST(MtuReport, AgentViewAboveTheMeasuredPathIsNoted) {
  MtuReport r;
  r.target = "10.9.0.2";
  r.peer = MtuPeer{};
  r.peer->interface_name = "tern0";
  r.peer->interface_mtu = 1420;
  r.peer->agent_reports_mtu = true;
  r.peer->agent_path_mtu = 1480;  // still searching upward: conservative, not worth a word
  r.underlay = path("192.0.2.2", 1500, 1500, 0, 1500);
  r.overlay = path("10.9.0.2", 1420, 1420, 0, 1420);
  analyze(r);
  EXPECT_TRUE(r.notes.empty());
  r.peer->agent_path_mtu = 1500;
  r.underlay = path("192.0.2.2", 1280, 1500, 2, 1280);
  analyze(r);
  ASSERT_EQ(r.notes.size(), 2u);  // the Packet Too Big seen, and the agent's larger view
  EXPECT_NE(r.notes[1].find("found path MTU 1500"), std::string::npos) << r.notes[1];
  r.peer->agent_reports_mtu = false;
  r.peer->agent_path_mtu.reset();
  analyze(r);
  EXPECT_NE(r.notes.back().find("older"), std::string::npos);
}

TEST(MtuReport, Ipv6PathBelowItsMinimum) {
  MtuReport r;
  r.target = "2001:db8::2";
  r.underlay = path("2001:db8::2", 104, 1500, 0, 1500);
  analyze(r);
  EXPECT_EQ(causes(r), std::vector<std::string>{"below_ipv6_minimum"});
}

TEST(MtuReport, JsonHasTheDocumentedFields) {
  MtuReport r;
  r.target = "192.0.2.2";
  r.underlay = path("192.0.2.2", 1280, 1500, 0, 1500);
  analyze(r);
  const auto j = to_json(r);
  EXPECT_EQ(j["mode"], "host");
  EXPECT_EQ(j["underlay"]["path_mtu"], 1280);
  EXPECT_EQ(j["underlay"]["smallest_lost"], 1281);
  EXPECT_EQ(j["underlay"]["kernel_pmtu_after"], 1500);
  EXPECT_EQ(j["underlay"]["too_big_received"], 0);
  EXPECT_EQ(j["underlay"]["sizes"][1]["outcome"], "lost");
  EXPECT_EQ(j["findings"][0]["cause"], "ptb_filtered");
  EXPECT_EQ(j["recommended_mtu"], 1220);
  EXPECT_EQ(j["healthy"], false);
  EXPECT_TRUE(j["overlay"].is_null());
  const std::string human = render_human(r);
  EXPECT_NE(human.find("ptb_filtered"), std::string::npos);
  EXPECT_NE(human.find("1220"), std::string::npos);
}

}  // namespace
}  // namespace tern::doctor

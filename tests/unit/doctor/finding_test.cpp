#include "doctor/finding.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>

namespace tern::doctor {
namespace {

Finding make(std::string code, std::string check, Severity s = Severity::kError,
             std::string peer = "k") {
  return {std::move(code), s, {SubjectKind::kPeer, std::move(peer), "wg0"}, "m", std::move(check)};
}

std::vector<std::string> codes(const std::vector<Finding>& f) {
  std::vector<std::string> out;
  for (const auto& x : f)
    out.push_back(x.code);
  return out;
}

TEST(Finding, CausesComeBeforeTheSymptomsTheyExplain) {
  // The order docs/doctor.md states, written out by hand.
  const std::vector<std::string> want = {"route_overlap_lan",
                                         "handshake_failing",
                                         "relay_unreachable",
                                         "rest_expired",
                                         "tunnel_mtu_black_hole",
                                         "ptb_filtered",
                                         "keepalive_exceeds_nat_lifetime",
                                         "nat_short_lifetime",
                                         "nat_symmetric",
                                         "endpoint_flapping",
                                         "handshake_stale",
                                         "one_way_loss",
                                         "stun_unreachable",
                                         "stun_server_fault"};
  std::vector<Finding> f;
  for (const auto& c : want) {
    const std::string check = c.starts_with("route")                            ? "routes"
                              : c.starts_with("nat") || c.starts_with("stun")   ? "nat"
                              : c.starts_with("relay") || c.starts_with("rest") ? "relay"
                              : c == "ptb_filtered"                             ? "mtu"
                                                                                : "wg";
    f.push_back(make(c, check));
  }
  std::mt19937 rng(7);
  for (int round = 0; round < 20; ++round) {
    std::shuffle(f.begin(), f.end(), rng);
    order_findings(f);
    EXPECT_EQ(codes(f), want);
  }
}

TEST(Finding, UnknownCodesFollowTheirChecksKnownOnes) {
  EXPECT_LT(cause_rank("route_overlap_lan", "routes"), cause_rank("route_new_kind", "routes"));
  EXPECT_LT(cause_rank("route_new_kind", "routes"), cause_rank("handshake_failing", "wg"));
  EXPECT_LT(cause_rank("relay_permission_refused", "relay"), cause_rank("relay_quota", "relay"));
  EXPECT_EQ(cause_rank("rest_new_kind", "relay"), cause_rank("relay_new_kind", "relay"));
  EXPECT_LT(cause_rank("one_way_loss", "wg"), cause_rank("new_wg_code", "wg"));
  EXPECT_LT(cause_rank("new_wg_code", "wg"), cause_rank("stun_unreachable", "nat"));
  EXPECT_GT(cause_rank("x", "some_future_check"), cause_rank("stun_server_fault", "nat"));
}

TEST(Finding, SameCauseErrorsFirstThenBySubjectStable) {
  std::vector<Finding> f = {make("relay_loss", "relay", Severity::kWarning, "b"),
                            make("relay_loss", "relay", Severity::kError, "c"),
                            make("endpoint_flapping", "wg", Severity::kError, "b"),
                            make("endpoint_flapping", "wg", Severity::kError, "a")};
  f[0].message = "first";
  order_findings(f);
  EXPECT_EQ(f[0].severity, Severity::kError);
  EXPECT_EQ(f[0].code, "relay_loss");
  EXPECT_EQ(f[1].message, "first");
  EXPECT_EQ(f[2].subject.name, "a");
  EXPECT_EQ(f[3].subject.name, "b");
}

TEST(Finding, JsonAndLine) {
  auto f = make("one_way_loss", "wg");
  f.subject.name = "KEY=";
  f.message = "packets are lost one way";
  const auto j = to_json(f);
  EXPECT_EQ(j["code"], "one_way_loss");
  EXPECT_EQ(j["severity"], "error");
  EXPECT_EQ(j["check"], "wg");
  EXPECT_EQ(j["subject"]["kind"], "peer");
  EXPECT_EQ(j["subject"]["name"], "KEY=");
  EXPECT_EQ(j["subject"]["interface"], "wg0");
  EXPECT_EQ(j["message"], "packets are lost one way");
  EXPECT_EQ(render_line(f), "error   peer KEY= on wg0: [one_way_loss] packets are lost one way");
  Finding host{"nat_symmetric", Severity::kWarning, {SubjectKind::kHost, "", ""}, "m", "nat"};
  EXPECT_FALSE(to_json(host)["subject"].contains("interface"));
  EXPECT_EQ(render_line(host), "warning this host: [nat_symmetric] m");
}

}  // namespace
}  // namespace tern::doctor

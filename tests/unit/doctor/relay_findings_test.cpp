#include "doctor/relay_findings.hpp"

#include <gtest/gtest.h>

#include "doctor/rtt_stats.hpp"

namespace tern::doctor {
namespace {

using std::chrono::milliseconds;

constexpr int64_t kNow = 1'800'000'000;

// A relay that works: allocation, round trip, largest packet.
RelayUrlResult healthy() {
  RelayUrlResult r;
  r.url = "turn:192.0.2.2:3478?transport=udp";
  r.server = Endpoint::parse("192.0.2.2:3478");
  r.resolve = {CheckStatus::kPass, "", ""};
  r.reachability = {CheckStatus::kPass, "", ""};
  r.authentication = {CheckStatus::kPass, "", ""};
  r.allocation = {CheckStatus::kPass, "", ""};
  r.round_trip = {CheckStatus::kPass, "", ""};
  r.largest_packet = {CheckStatus::kPass, "", ""};
  r.relayed = Endpoint::parse("192.0.2.2:49152");
  r.peer = Endpoint::parse("198.51.100.2:40000");
  RoundTrip t;
  t.stats = compute_rtt_stats(std::vector<std::optional<Duration>>(10, milliseconds(1)));
  r.round_trip_figures = t;
  r.peer_delivered = 10;
  return r;
}

// The round trip sent 10 probes and none came back.
RelayUrlResult nothing_back(uint64_t delivered) {
  auto r = healthy();
  r.round_trip = {CheckStatus::kFail, "10 probes: 0 back", "..."};
  r.round_trip_figures->stats =
      compute_rtt_stats(std::vector<std::optional<Duration>>(10, std::nullopt));
  r.peer_delivered = delivered;
  return r;
}

std::vector<std::string> codes(const RelayUrlResult& r) {
  std::vector<std::string> out;
  for (const auto& f : relay_findings(r))
    out.push_back(f.code);
  return out;
}

using Codes = std::vector<std::string>;

TEST(RelayFindings, HealthyRelayHasNone) {
  EXPECT_EQ(codes(healthy()), Codes{});
  auto fresh = healthy();
  fresh.rest = RestFacts{kNow + 3600, kNow, true, true, std::nullopt, false};
  EXPECT_EQ(codes(fresh), Codes{});
}

TEST(RelayFindings, PrivateRelayedAddressWithNoDataBackIsTheCause) {
  auto r = nothing_back(10);
  r.relayed = Endpoint::parse("10.1.0.2:49152");
  const auto f = relay_findings(r);
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].code, "relay_address_private");
  EXPECT_FALSE(f[0].warning);
  EXPECT_NE(f[0].message.find("external-ip"), std::string::npos) << f[0].message;
  EXPECT_NE(f[0].message.find("10.1.0.2:49152"), std::string::npos) << f[0].message;
}

TEST(RelayFindings, PrivateRelayedAddressThatStillCarriesDataIsAWarning) {
  auto r = healthy();
  r.relayed = Endpoint::parse("10.1.0.2:49152");
  r.allocation.status = CheckStatus::kWarn;
  const auto f = relay_findings(r);
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].code, "relay_address_private");
  EXPECT_TRUE(f[0].warning);
}

TEST(RelayFindings, PrivateServerWithPrivateRelayedAddressIsFine) {
  auto r = healthy();
  r.server = Endpoint::parse("10.1.0.2:3478");
  r.relayed = Endpoint::parse("10.1.0.2:49152");
  EXPECT_EQ(codes(r), Codes{});
}

TEST(RelayFindings, PublicRelayedAddressWithNoDataBackIsBlockedPorts) {
  auto echoes_lost = nothing_back(10);
  auto all_lost = nothing_back(0);
  EXPECT_EQ(codes(echoes_lost), Codes{"relay_ports_blocked"});
  EXPECT_EQ(codes(all_lost), Codes{"relay_ports_blocked"});
  EXPECT_NE(relay_findings(echoes_lost)[0].message.find("delivered 10 probes"), std::string::npos);
  EXPECT_NE(relay_findings(all_lost)[0].message.find("no data"), std::string::npos);
}

TEST(RelayFindings, ForbiddenPermissionIsRefusedPeer) {
  auto r = healthy();
  r.round_trip = {CheckStatus::kFail, "403 Forbidden to CreatePermission", "..."};
  r.round_trip_figures.reset();
  r.peer_delivered.reset();
  r.error_kind = "forbidden";
  EXPECT_EQ(codes(r), Codes{"relay_permission_refused"});
  r.error_kind.clear();
  EXPECT_EQ(codes(r), Codes{"relay_permission_failed"});
}

TEST(RelayFindings, QuotaAndOtherAllocationFailures) {
  auto r = healthy();
  r.allocation = {CheckStatus::kFail, "486 Allocation Quota Reached", "raise"};
  r.round_trip = {};
  r.error_kind = "quota_reached";
  EXPECT_EQ(codes(r), Codes{"relay_quota"});
  r.error_kind = "insufficient_capacity";
  EXPECT_EQ(codes(r), Codes{"relay_capacity"});
  r.error_kind = "allocation_mismatch";
  EXPECT_EQ(codes(r), Codes{"relay_allocation_mismatch"});
}

RelayUrlResult refused(RestFacts rest) {
  auto r = healthy();
  r.authentication = {CheckStatus::kFail, "401", "fix"};
  r.allocation = {};
  r.round_trip = {};
  r.error_kind = "wrong_credentials";
  r.rest = rest;
  return r;
}

TEST(RelayFindings, RestCredentialsExpiredByThisClock) {
  EXPECT_EQ(codes(refused({kNow - 100, kNow, false, false, {}, {}})), Codes{"rest_expired"});
}

TEST(RelayFindings, RestRefusedButThirtyDaysAcceptedMeansTheServerClockIsAhead) {
  const auto r = refused({kNow + 3600, kNow, true, false, true, {}});
  EXPECT_EQ(codes(r), Codes{"rest_expired"});
  EXPECT_NE(relay_findings(r)[0].message.find("ahead"), std::string::npos);
}

TEST(RelayFindings, RestRefusedEvenForThirtyDaysIsTheSecret) {
  EXPECT_EQ(codes(refused({kNow + 3600, kNow, true, false, false, {}})),
            Codes{"rest_wrong_secret"});
  // Without the probe: valid for an hour by this clock and refused.
  EXPECT_EQ(codes(refused({kNow + 3600, kNow, false, false, {}, {}})), Codes{"rest_wrong_secret"});
  // Expiring within minutes: more likely the server's clock.
  EXPECT_EQ(codes(refused({kNow + 60, kNow, false, false, {}, {}})), Codes{"rest_expired"});
}

TEST(RelayFindings, RestAcceptedOnlyThanksToTheServerClock) {
  auto given = healthy();
  given.rest = RestFacts{kNow - 600, kNow, false, true, {}, {}};
  EXPECT_EQ(codes(given), Codes{"rest_valid_by_clock_skew"});
  EXPECT_TRUE(relay_findings(given)[0].warning);
  auto probed = healthy();
  probed.rest = RestFacts{kNow + 3600, kNow, true, true, {}, true};
  EXPECT_EQ(codes(probed), Codes{"rest_valid_by_clock_skew"});
}

TEST(RelayFindings, RestUsernameFarAheadIsNotYetValid) {
  auto r = healthy();
  r.rest = RestFacts{kNow + 30 * 86400, kNow, false, true, {}, {}};
  EXPECT_EQ(codes(r), Codes{"rest_not_yet_valid"});
}

TEST(RelayFindings, StaticUserRefusedKeepsTheTurnErrorKind) {
  auto r = refused({});
  r.rest.reset();
  EXPECT_EQ(codes(r), Codes{"relay_wrong_credentials"});
}

TEST(RelayFindings, LossGrowingWithTheRateIsABandwidthCap) {
  auto r = healthy();
  r.rate_steps = {{50, 100, 100}, {200, 100, 70}, {800, 400, 100}};
  EXPECT_TRUE(shows_bandwidth_cap(r.rate_steps));
  EXPECT_EQ(codes(r), Codes{"relay_bandwidth_cap"});
  EXPECT_NE(relay_findings(r)[0].message.find("75 % at 800/s"), std::string::npos)
      << relay_findings(r)[0].message;
  // The same loss at every rate is a lossy path, not a cap.
  r.rate_steps = {{50, 100, 80}, {200, 100, 79}, {800, 400, 320}};
  EXPECT_FALSE(shows_bandwidth_cap(r.rate_steps));
  EXPECT_EQ(codes(r), Codes{});
  r.round_trip = {CheckStatus::kFail, "20 % loss", "fix"};
  EXPECT_EQ(codes(r), Codes{"relay_loss"});
  // Loss that falls again at the top is noise.
  r.rate_steps = {{50, 100, 100}, {200, 100, 50}, {800, 400, 360}};
  EXPECT_FALSE(shows_bandwidth_cap(r.rate_steps));
}

TEST(RelayFindings, EarlyFailuresStopTheList) {
  auto r = healthy();
  r.reachability = {CheckStatus::kFail, "no answer", "open UDP 3478"};
  EXPECT_EQ(codes(r), Codes{"relay_unreachable"});
  r.resolve = {CheckStatus::kFail, "cannot resolve", ""};
  EXPECT_EQ(codes(r), Codes{"relay_unresolved"});
}

TEST(RelayFindings, AServerThatAnsweredButNeverUsablyIsItsOwnFault) {
  auto r = healthy();
  r.reachability = {CheckStatus::kFail, "answered 6 time(s) but never usably", "its log"};
  r.error_kind = "server_fault";
  EXPECT_EQ(codes(r), Codes{"relay_server_fault"});
  r.error_kind = "timeout";  // silence is still unreachable
  EXPECT_EQ(codes(r), Codes{"relay_unreachable"});
  // At the allocation: the TURN client's kind names the code.
  r = healthy();
  r.allocation = {CheckStatus::kFail, "answered tern's Allocate request 6 time(s)", "its log"};
  r.error_kind = "server_fault";
  EXPECT_EQ(codes(r), Codes{"relay_server_fault"});
}

TEST(RelayFindings, WarningsOfLaterChecks) {
  auto r = healthy();
  r.largest_packet = {CheckStatus::kWarn, "1200 bytes", "raise the MTU"};
  r.tls = {CheckStatus::kWarn, "ends in 3 days", "renew"};
  EXPECT_EQ(codes(r), (Codes{"relay_certificate", "relay_small_packets"}));
}

TEST(RelayFindings, JsonCarriesFindingsAndCount) {
  auto r = nothing_back(5);
  r.findings = relay_findings(r);
  const auto j = to_json({r}, {{"coturn_realm_missing", "no realm", false}});
  EXPECT_EQ(j["findings_count"], 2);
  EXPECT_EQ(j["urls"][0]["findings"][0]["code"], "relay_ports_blocked");
  EXPECT_EQ(j["urls"][0]["findings"][0]["severity"], "error");
  EXPECT_EQ(j["urls"][0]["peer_delivered"], 5);
  EXPECT_EQ(j["config_findings"][0]["code"], "coturn_realm_missing");
  const auto text = render_human({r}, {{"coturn_realm_missing", "no realm", false}});
  EXPECT_NE(text.find("FAIL [relay_ports_blocked]"), std::string::npos) << text;
  EXPECT_NE(text.find("FAIL [coturn_realm_missing] no realm"), std::string::npos) << text;
}

}  // namespace
}  // namespace tern::doctor

#include "doctor/relay_report.hpp"

#include <gtest/gtest.h>

#include <algorithm>

#include "doctor/relay_probe.hpp"
#include "doctor/rtt_stats.hpp"

namespace tern::doctor {
namespace {

using std::chrono::milliseconds;

RelayUrlResult passing() {
  RelayUrlResult r;
  r.url = "turn:192.0.2.2:3478?transport=udp";
  r.transport = "udp";
  r.server = Endpoint::parse("192.0.2.2:3478");
  r.resolve = {CheckStatus::kPass, "192.0.2.2:3478", ""};
  r.reachability = {CheckStatus::kPass, "mapped address 198.51.100.2:4000", ""};
  r.authentication = {CheckStatus::kPass, "credentials accepted", ""};
  r.allocation = {CheckStatus::kPass, "relayed address 192.0.2.2:49152, lifetime 600 s", ""};
  r.round_trip = {CheckStatus::kPass, "100 back", ""};
  r.largest_packet = {CheckStatus::kPass, "1332 bytes", ""};
  r.relayed = Endpoint::parse("192.0.2.2:49152");
  r.allocation_lifetime = std::chrono::seconds(600);
  r.permission_lifetime = std::chrono::seconds(300);
  RoundTrip t;
  t.stats = compute_rtt_stats({milliseconds(2), std::nullopt, milliseconds(4)});
  t.rate_per_second = 50;
  t.payload_size = 1200;
  t.duration = std::chrono::seconds(10);
  r.round_trip_figures = t;
  r.largest = LargestPacket{1332, true, 65467};
  return r;
}

TEST(RelayReport, HumanReportShowsFixesAndVerdicts) {
  auto good = passing();
  auto bad = passing();
  bad.authentication = {CheckStatus::kFail, "refused the username", "check --user"};
  bad.allocation = {};
  const auto text = render_human({good, bad});
  EXPECT_NE(text.find("ok   reachability    mapped address 198.51.100.2:4000"), std::string::npos)
      << text;
  EXPECT_NE(text.find("FAIL authentication  refused the username"), std::string::npos) << text;
  EXPECT_NE(text.find("fix: check --user"), std::string::npos) << text;
  EXPECT_NE(text.find("allocation 600 s, permission 300 s, channel -"), std::string::npos) << text;
  EXPECT_NE(text.find("=> PASS"), std::string::npos);
  EXPECT_NE(text.find("=> FAIL"), std::string::npos);
  EXPECT_NE(text.find("1 of 2 relay URLs passed"), std::string::npos) << text;
  EXPECT_TRUE(good.passed());
  EXPECT_FALSE(bad.passed());
}

TEST(RelayReport, JsonHasStableFields) {
  auto j = to_json({passing()});
  EXPECT_EQ(j["version"], 1);
  EXPECT_EQ(j["passed"], true);
  const auto& u = j["urls"][0];
  EXPECT_EQ(u["checks"]["allocation"]["status"], "pass");
  EXPECT_EQ(u["relayed_address"], "192.0.2.2:49152");
  EXPECT_EQ(u["round_trip"]["sent"], 3);
  EXPECT_EQ(u["round_trip"]["received"], 2);
  EXPECT_DOUBLE_EQ(u["round_trip"]["loss_percent"].get<double>(), 33.33);
  EXPECT_DOUBLE_EQ(u["round_trip"]["rtt_ms"]["avg"].get<double>(), 3.0);
  EXPECT_DOUBLE_EQ(u["round_trip"]["jitter_ms"].get<double>(), 2.0);
  EXPECT_EQ(u["largest_packet"]["payload_bytes"], 1332);
  EXPECT_EQ(u["lifetimes_s"]["allocation"], 600);
  EXPECT_TRUE(u["lifetimes_s"]["channel"].is_null());
  EXPECT_TRUE(u["error_kind"].is_null());
}

TEST(RttStats, AgainstASlowReference) {
  std::vector<std::optional<Duration>> rtts;
  uint32_t x = 12345;
  for (int i = 0; i < 500; ++i) {
    x = x * 1103515245u + 12345u;
    if (x % 7 == 0) {
      rtts.push_back(std::nullopt);
    } else {
      rtts.push_back(std::chrono::microseconds(100 + x % 5000));
    }
  }
  const auto s = compute_rtt_stats(rtts);
  std::vector<Duration> got;
  for (const auto& r : rtts) {
    if (r) got.push_back(*r);
  }
  Duration sum{};
  Duration jsum{};
  for (size_t i = 0; i < got.size(); ++i) {
    sum += got[i];
    if (i > 0) jsum += got[i] > got[i - 1] ? got[i] - got[i - 1] : got[i - 1] - got[i];
  }
  EXPECT_EQ(s.sent, 500u);
  EXPECT_EQ(s.received, got.size());
  EXPECT_EQ(s.min, *std::min_element(got.begin(), got.end()));
  EXPECT_EQ(s.max, *std::max_element(got.begin(), got.end()));
  EXPECT_EQ(s.avg, sum / static_cast<int64_t>(got.size()));
  EXPECT_EQ(s.jitter, jsum / static_cast<int64_t>(got.size() - 1));
  EXPECT_EQ(compute_rtt_stats({}).loss_percent(), 0.0);
}

TEST(RelayProbe, RoundTripsAndRejectsDamage) {
  std::vector<uint8_t> buf(300);
  write_probe(Probe{ProbeKind::kSize, 42, instant_from_ns(123456789)}, buf);
  auto p = read_probe(buf);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->kind, ProbeKind::kSize);
  EXPECT_EQ(p->sequence, 42u);
  EXPECT_EQ(to_ns(p->sent), 123456789);
  buf[200] ^= 1;
  EXPECT_FALSE(read_probe(buf));
  EXPECT_FALSE(read_probe(Bytes(buf.data(), 10)));
  EXPECT_TRUE(is_non_public(*IpAddress::parse("10.1.2.3")));
  EXPECT_TRUE(is_non_public(*IpAddress::parse("100.64.0.1")));
  EXPECT_TRUE(is_non_public(*IpAddress::parse("fd00::1")));
  EXPECT_FALSE(is_non_public(*IpAddress::parse("192.0.2.2")));
  EXPECT_FALSE(is_non_public(*IpAddress::parse("2001:db8::1")));
}

}  // namespace
}  // namespace tern::doctor

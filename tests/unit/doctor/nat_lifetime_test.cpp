#include "doctor/nat_lifetime.hpp"

#include <gtest/gtest.h>

#include "doctor/fake_nat.hpp"
#include "doctor/nat_report.hpp"

namespace tern::doctor {
namespace {

using std::chrono::seconds;
using test::FakeNet;

LifetimeResult search(FakeNet& net, Duration longest, size_t count, Duration* took = nullptr) {
  LifetimeSearch::Config c;
  c.server = net.primary;
  c.intervals = lifetime_intervals(longest, count);
  const Instant start = instant_from_ns(5'000'000'000);
  LifetimeSearch s(c, start);
  const Instant end = net.run(s, start);
  EXPECT_TRUE(s.done());
  if (took) *took = end - start;
  return s.result();
}

TEST(LifetimeSearch, Intervals) {
  auto v = lifetime_intervals(seconds(24), 12);
  ASSERT_EQ(v.size(), 12u);
  EXPECT_EQ(v.front(), seconds(2));
  EXPECT_EQ(v.back(), seconds(24));
  EXPECT_EQ(lifetime_intervals(seconds(3), 12).size(), 3u);  // whole seconds, no repeats
}

TEST(LifetimeSearch, BracketsTheNatTimeoutInParallel) {
  for (int lifetime : {5, 15, 21}) {
    FakeNet net;
    net.lifetime = seconds(lifetime);
    Duration took{};
    auto r = search(net, seconds(24), 12, &took);
    ASSERT_TRUE(r.error.empty()) << r.error;
    ASSERT_TRUE(r.alive_max && r.dead_min);
    EXPECT_LT(*r.alive_max, seconds(lifetime)) << lifetime;
    EXPECT_GE(*r.dead_min, seconds(lifetime)) << lifetime;
    EXPECT_LE(*r.dead_min - *r.alive_max, seconds(2));
    // The intervals idle side by side: the search costs the longest one, not the sum.
    EXPECT_LT(took, seconds(24 + 4));
  }
}

TEST(LifetimeSearch, KeepaliveHoldsTheMappingWithMargin) {
  FakeNet net;
  net.lifetime = seconds(15);
  auto r = search(net, seconds(24), 12);
  EXPECT_EQ(keepalive_for(r), std::optional<unsigned>(10));  // between 14 and 16 s: 15 s * 2/3
  NatReport report;
  report.discovery.mapping = Mapping::kEndpointIndependent;
  report.lifetime = r;
  auto f = nat_findings(report);
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].code, "nat_short_lifetime");
  EXPECT_NE(f[0].message.find("keepalive 25 s"), std::string::npos) << f[0].message;
  report.keepalive_in_use = 10;
  EXPECT_TRUE(nat_findings(report).empty());
}

TEST(LifetimeSearch, LongLifetimeIsNoFinding) {
  FakeNet net;
  net.lifetime = seconds(180);
  auto r = search(net, seconds(60), 6);
  EXPECT_EQ(r.alive_max, std::optional<Duration>(seconds(60)));
  EXPECT_FALSE(r.dead_min);
  EXPECT_EQ(keepalive_for(r), std::optional<unsigned>(25));
  NatReport report;
  report.lifetime = r;
  EXPECT_TRUE(nat_findings(report).empty());
}

TEST(LifetimeSearch, ServerIgnoringResponsePortIsAnError) {
  FakeNet net;
  net.ignore_response_port = true;
  auto r = search(net, seconds(6), 3);
  EXPECT_NE(r.error.find("RESPONSE-PORT"), std::string::npos) << r.error;
  EXPECT_FALSE(keepalive_for(r));
}

TEST(LifetimeSearch, SilentServerEndsInBoundedTime) {
  FakeNet net;
  net.silent = true;
  Duration took{};
  auto r = search(net, seconds(60), 6, &took);
  EXPECT_FALSE(r.error.empty());
  EXPECT_LT(took, seconds(5));
}

TEST(KeepaliveFor, TwoThirdsOfTheEstimate) {
  LifetimeResult r;
  EXPECT_FALSE(keepalive_for(r));
  r.alive_max = seconds(14);
  r.dead_min = seconds(16);
  EXPECT_EQ(keepalive_for(r), std::optional<unsigned>(10));
  r.alive_max = seconds(1);
  r.dead_min = seconds(2);
  EXPECT_EQ(keepalive_for(r), std::optional<unsigned>(1));
}

}  // namespace
}  // namespace tern::doctor

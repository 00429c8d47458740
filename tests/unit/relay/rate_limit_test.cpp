// Token buckets against the clock: full at the start, refilled in proportion to
// the time passed, capped at rate x burst, and checked against a slow reference
// (tokens recomputed from the whole history) on random traffic.
#include "relay/rate_limit.hpp"

#include <gtest/gtest.h>

#include <random>
#include <vector>

namespace tern::relay {
namespace {

constexpr Instant kT0 = instant_from_ns(5'000'000'000);

Instant at_ms(int64_t ms) {
  return kT0 + std::chrono::milliseconds(ms);
}

TEST(RateLimit, UnlimitedPassesEverything) {
  RateLimiter r(RateLimit{}, kT0);
  for (int i = 0; i < 100000; ++i)
    ASSERT_TRUE(r.allow(65535, kT0));
}

TEST(RateLimit, PacketsPerSecond) {
  RateLimit l;
  l.packets_per_second = 100;
  RateLimiter r(l, kT0);
  int passed = 0;
  for (int i = 0; i < 150; ++i)
    passed += r.allow(1000, kT0);
  EXPECT_EQ(passed, 100);
  // 10 ms later: one more packet.
  EXPECT_TRUE(r.allow(1, at_ms(10)));
  EXPECT_FALSE(r.allow(1, at_ms(10)));
  // Idle for a minute: the bucket holds one second's worth, not more.
  passed = 0;
  for (int i = 0; i < 500; ++i)
    passed += r.allow(1, at_ms(60000));
  EXPECT_EQ(passed, 100);
}

TEST(RateLimit, BytesWithALargeFirstPacket) {
  RateLimit l;
  l.bytes_per_second = 1000;  // below one large datagram: the bucket still holds one
  RateLimiter r(l, kT0);
  EXPECT_TRUE(r.allow(65535, kT0));
  EXPECT_FALSE(r.allow(1, kT0));
  EXPECT_FALSE(r.allow(1000, at_ms(999)));
  EXPECT_TRUE(r.allow(1000, at_ms(1000)));
}

TEST(RateLimit, BothLimitsApplyAndARefusedPacketCostsNothing) {
  RateLimit l;
  l.bytes_per_second = 100000;
  l.packets_per_second = 10;
  RateLimiter r(l, kT0);
  EXPECT_TRUE(r.allow(90000, kT0));
  EXPECT_FALSE(r.allow(20000, kT0));  // bytes short; the packet token is not taken
  int passed = 0;
  for (int i = 0; i < 20; ++i)
    passed += r.allow(100, kT0);
  EXPECT_EQ(passed, 9);
}

TEST(RateLimit, ClockGoingBackwardsRefillsNothing) {
  RateLimit l;
  l.packets_per_second = 1;
  RateLimiter r(l, at_ms(10000));
  EXPECT_TRUE(r.allow(1, at_ms(10000)));
  EXPECT_FALSE(r.allow(1, at_ms(5000)));
  EXPECT_FALSE(r.allow(1, at_ms(10500)));
  EXPECT_TRUE(r.allow(1, at_ms(11000)));
}

// Over a long saturated run, what passes is the rate times the time plus one
// full bucket, whatever the rate, burst and spacing of the offered packets.
TEST(RateLimit, LongRunAverageIsTheRate) {
  std::mt19937 rng(7);
  for (int trial = 0; trial < 30; ++trial) {
    const int64_t rate = 1 + static_cast<int64_t>(rng() % 500);
    const int64_t burst_ms = 100 + static_cast<int64_t>(rng() % 2000);
    RateLimit l;
    l.packets_per_second = static_cast<uint64_t>(rate);
    l.burst = std::chrono::milliseconds(burst_ms);
    RateLimiter r(l, kT0);
    const double capacity = std::max(static_cast<double>(rate * burst_ms) / 1000, 1.0);
    int64_t passed = 0;
    int64_t now_us = 0;
    const int64_t end_us = 100'000'000;  // 100 s
    // Offered at least three times faster than the rate, at random spacing.
    const int64_t mean_gap_us = std::max<int64_t>(1, 1'000'000 / (3 * rate));
    while (now_us < end_us) {
      now_us += static_cast<int64_t>(rng() % static_cast<uint32_t>(2 * mean_gap_us + 1));
      passed += r.allow(1, kT0 + std::chrono::microseconds(now_us));
    }
    const double expected = static_cast<double>(rate) * 100 + capacity;
    EXPECT_NEAR(static_cast<double>(passed), expected, 2.0 + capacity * 0.02)
        << "rate " << rate << " burst " << burst_ms << " ms";
  }
}

}  // namespace
}  // namespace tern::relay

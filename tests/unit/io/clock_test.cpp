#include "io/clock.hpp"

#include <gtest/gtest.h>
#include <time.h>

namespace tern::io {
namespace {

TEST(Clock, MonotonicNeverGoesBack) {
  Instant prev = monotonic_now();
  for (int i = 0; i < 1000; ++i) {
    Instant now = monotonic_now();
    EXPECT_GE(now, prev);
    prev = now;
  }
}

TEST(Clock, WallTimeMatchesTime) {
  int64_t secs = static_cast<int64_t>(::time(nullptr));
  int64_t wall = wall_now().unix_ns / 1'000'000'000;
  EXPECT_LE(std::abs(wall - secs), 2);
  EXPECT_GT(wall, 1'600'000'000);  // after 2020: seconds, not milliseconds or ticks
}

}  // namespace
}  // namespace tern::io

#include "wire/tai64n.hpp"

#include <gtest/gtest.h>

#include "crypto/hex_util.hpp"

namespace tern::wire {
namespace {

using test::hex;

TEST(Tai64n, EpochAndLayout) {
  EXPECT_EQ(hex(tai64n_from_wall(WallTime{0}).bytes), "400000000000000a00000000");
  // 2021-01-01T00:00:00Z = 1609459200 = 0x5fee6600.
  EXPECT_EQ(hex(tai64n_from_wall(WallTime{1609459200LL * 1'000'000'000}).bytes),
            "400000005fee660a00000000");
}

TEST(Tai64n, NanosecondsRoundedDownTo2Pow24) {
  // 1.5 s: 500,000,000 ns = 0x1dcd6500 -> 0x1d000000.
  EXPECT_EQ(hex(tai64n_from_wall(WallTime{1'500'000'000}).bytes), "400000000000000b1d000000");
  // Two times in the same 2^24 ns bucket give the same timestamp.
  EXPECT_EQ(tai64n_from_wall(WallTime{(1 << 24) + 1}), tai64n_from_wall(WallTime{(1 << 25) - 1}));
  EXPECT_LT(tai64n_from_wall(WallTime{(1 << 24) - 1}), tai64n_from_wall(WallTime{1 << 24}));
}

// 999,999,999 ns = 0x3b9ac9ff -> 0x3b000000, one second below the epoch label.
TEST(Tai64n, BeforeTheEpoch) {
  EXPECT_EQ(hex(tai64n_from_wall(WallTime{-1}).bytes), "40000000000000093b000000");
}

TEST(Tai64n, OrderFollowsTime) {
  const int64_t times[] = {-5'000'000'000,
                           -1,
                           0,
                           20'000'000,
                           999'999'999,
                           1'000'000'000,
                           1'700'000'000'123'456'789,
                           4'000'000'000'000'000'000};
  for (size_t i = 0; i + 1 < std::size(times); ++i) {
    EXPECT_LT(tai64n_from_wall(WallTime{times[i]}), tai64n_from_wall(WallTime{times[i + 1]}))
        << times[i] << " vs " << times[i + 1];
  }
}

}  // namespace
}  // namespace tern::wire

#include "noise/replay_window.hpp"

#include <gtest/gtest.h>

#include <random>
#include <set>

#include "noise/constants.hpp"

namespace tern::noise {
namespace {

// Trivially correct model: every counter seen is kept; a counter is accepted when
// below the limit, unseen, and no more than kWindowSize below the highest seen.
class ReferenceWindow {
 public:
  bool would_accept(uint64_t c) const {
    if (c >= kRejectAfterMessages) return false;
    if (seen_.count(c)) return false;
    if (!seen_.empty() && c + ReplayWindow::kWindowSize < *seen_.rbegin()) return false;
    return true;
  }
  void mark(uint64_t c) { seen_.insert(c); }

 private:
  std::set<uint64_t> seen_;
};

TEST(ReplayWindow, InOrderAndDuplicates) {
  ReplayWindow w;
  for (uint64_t c = 0; c < 20000; ++c) {
    EXPECT_TRUE(w.check_and_update(c));
    EXPECT_FALSE(w.check_and_update(c));
  }
}

TEST(ReplayWindow, WindowEdge) {
  ReplayWindow w;
  const uint64_t top = 100000;
  ASSERT_TRUE(w.check_and_update(top));
  EXPECT_TRUE(w.would_accept(top - ReplayWindow::kWindowSize));
  EXPECT_FALSE(w.would_accept(top - ReplayWindow::kWindowSize - 1));
  EXPECT_TRUE(w.check_and_update(top - 1));
  EXPECT_TRUE(w.check_and_update(top - ReplayWindow::kWindowSize));
  EXPECT_FALSE(w.check_and_update(top - ReplayWindow::kWindowSize));
  EXPECT_FALSE(w.check_and_update(0));
}

TEST(ReplayWindow, ZeroIsAValidFirstCounter) {
  ReplayWindow w;
  EXPECT_TRUE(w.would_accept(0));
  EXPECT_TRUE(w.check_and_update(0));
  EXPECT_FALSE(w.would_accept(0));
}

TEST(ReplayWindow, WouldAcceptDoesNotChangeState) {
  ReplayWindow w;
  EXPECT_TRUE(w.would_accept(5));
  EXPECT_TRUE(w.would_accept(5));
  w.mark(5);
  EXPECT_FALSE(w.would_accept(5));
  // mark() of something not acceptable is a no-op.
  w.mark(5);
  EXPECT_TRUE(w.would_accept(4));
}

TEST(ReplayWindow, RejectAfterMessages) {
  ReplayWindow w;
  EXPECT_FALSE(w.would_accept(kRejectAfterMessages));
  EXPECT_FALSE(w.would_accept(UINT64_MAX));
  EXPECT_TRUE(w.check_and_update(kRejectAfterMessages - 1));
  EXPECT_FALSE(w.check_and_update(kRejectAfterMessages - 1));
  EXPECT_TRUE(w.check_and_update(kRejectAfterMessages - 2));
  EXPECT_FALSE(w.would_accept(kRejectAfterMessages));
}

TEST(ReplayWindow, BigJumpClearsTheWholeRing) {
  ReplayWindow w;
  for (uint64_t c = 0; c < ReplayWindow::kBitsTotal; ++c)
    ASSERT_TRUE(w.check_and_update(c));
  const uint64_t far = 1'000'000'000;
  ASSERT_TRUE(w.check_and_update(far));
  for (uint64_t c = far - ReplayWindow::kWindowSize; c < far; ++c) {
    ASSERT_TRUE(w.would_accept(c)) << c;
  }
}

TEST(ReplayWindow, Reset) {
  ReplayWindow w;
  ASSERT_TRUE(w.check_and_update(10));
  w.reset();
  EXPECT_TRUE(w.check_and_update(10));
}

// Random sequences that mix in-order traffic, reordering, duplicates, jumps and
// very old counters, compared step by step against the reference.
TEST(ReplayWindow, MatchesReferenceOnRandomSequences) {
  std::mt19937_64 rng(12345);
  for (int round = 0; round < 40; ++round) {
    ReplayWindow w;
    ReferenceWindow ref;
    uint64_t top = (round % 4 == 0) ? kRejectAfterMessages - 30000 : rng() % 1000;
    for (int step = 0; step < 20000; ++step) {
      uint64_t c;
      switch (rng() % 8) {
        case 0:
          c = top + 1 + rng() % 3;
          break;
        case 1:
          c = top + rng() % (3 * ReplayWindow::kBitsTotal);  // jumps across the ring
          break;
        case 2:
        case 3:
          c = top - std::min<uint64_t>(top, rng() % (ReplayWindow::kWindowSize + 200));
          break;
        case 4:
          c = top - std::min<uint64_t>(top, ReplayWindow::kWindowSize - 2 + rng() % 5);
          break;
        case 5:
          c = top;  // duplicate of the newest
          break;
        default:
          c = top + 1;
          break;
      }
      const bool expected = ref.would_accept(c);
      ASSERT_EQ(w.would_accept(c), expected) << "round " << round << " step " << step << " c=" << c;
      // Half of the acceptable packets "fail decryption" and are never marked.
      if (expected && rng() % 2 == 0) {
        w.mark(c);
        ref.mark(c);
        top = std::max(top, c);
      }
    }
  }
}

}  // namespace
}  // namespace tern::noise

#include "io/poller.hpp"

#include <gtest/gtest.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "io/clock.hpp"

namespace tern::io {
namespace {

TEST(Poller, TimeoutNeverReturnsEarly) {
  auto poller = Poller::create();
  ASSERT_TRUE(poller) << poller.error().message;
  Ready ready[4];
  // Sub-millisecond and fractional timeouts are where rounding down would fire early.
  for (Duration timeout : {Duration(1), Duration(100'000), Duration(1'500'000), Duration(2'999'999),
                           Duration(10'000'001)}) {
    Instant start = monotonic_now();
    auto n = poller->wait(timeout, ready);
    Instant end = monotonic_now();
    ASSERT_TRUE(n) << n.error().message;
    EXPECT_EQ(*n, 0u);
    EXPECT_GE(end - start, timeout) << "timeout " << timeout.count() << " ns";
  }
}

TEST(Poller, ZeroTimeoutPolls) {
  auto poller = Poller::create();
  ASSERT_TRUE(poller);
  Ready ready[1];
  Instant start = monotonic_now();
  auto n = poller->wait(Duration::zero(), ready);
  ASSERT_TRUE(n);
  EXPECT_EQ(*n, 0u);
  EXPECT_LT(monotonic_now() - start, std::chrono::milliseconds(500));
}

TEST(Poller, ReportsReadableWithToken) {
  auto poller = Poller::create();
  ASSERT_TRUE(poller);
  UniqueFd efd(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
  ASSERT_TRUE(efd.valid());
  ASSERT_TRUE(poller->add(efd.get(), 42, true, false));

  Ready ready[4];
  auto n = poller->wait(Duration::zero(), ready);
  ASSERT_TRUE(n);
  EXPECT_EQ(*n, 0u);

  uint64_t one = 1;
  ASSERT_EQ(::write(efd.get(), &one, sizeof one), static_cast<ssize_t>(sizeof one));
  n = poller->wait(std::chrono::seconds(5), ready);
  ASSERT_TRUE(n);
  ASSERT_EQ(*n, 1u);
  EXPECT_EQ(ready[0].token, 42u);
  EXPECT_TRUE(ready[0].readable);
  EXPECT_FALSE(ready[0].writable);
  EXPECT_FALSE(ready[0].error);

  // Level-triggered: still ready until drained.
  n = poller->wait(Duration::zero(), ready);
  ASSERT_TRUE(n);
  EXPECT_EQ(*n, 1u);

  ASSERT_TRUE(poller->modify(efd.get(), 7, true, true));
  n = poller->wait(Duration::zero(), ready);
  ASSERT_TRUE(n);
  ASSERT_EQ(*n, 1u);
  EXPECT_EQ(ready[0].token, 7u);
  EXPECT_TRUE(ready[0].writable);

  poller->remove(efd.get());
  n = poller->wait(Duration::zero(), ready);
  ASSERT_TRUE(n);
  EXPECT_EQ(*n, 0u);
  poller->remove(efd.get());  // removing twice is harmless
}

TEST(Poller, AddingTwiceFailsWithAMessage) {
  auto poller = Poller::create();
  ASSERT_TRUE(poller);
  UniqueFd efd(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
  ASSERT_TRUE(poller->add(efd.get(), 1, true, false));
  auto again = poller->add(efd.get(), 1, true, false);
  ASSERT_FALSE(again);
  EXPECT_NE(again.error().message.find("EEXIST"), std::string::npos) << again.error().message;
}

}  // namespace
}  // namespace tern::io

#include "io/signals.hpp"

#include <gtest/gtest.h>
#include <pthread.h>

#include "io/poller.hpp"

namespace tern::io {
namespace {

bool blocked(int sig) {
  sigset_t mask;
  pthread_sigmask(SIG_BLOCK, nullptr, &mask);
  return sigismember(&mask, sig) == 1;
}

TEST(SignalFd, ReceivesRaisedSighupThroughThePoller) {
  ASSERT_FALSE(blocked(SIGHUP));
  {
    auto signals = SignalFd::create();
    ASSERT_TRUE(signals) << signals.error().message;
    EXPECT_TRUE(blocked(SIGHUP));
    EXPECT_TRUE(blocked(SIGTERM));
    EXPECT_TRUE(blocked(SIGINT));
    EXPECT_EQ(signals->read(), std::nullopt);

    auto poller = Poller::create();
    ASSERT_TRUE(poller);
    ASSERT_TRUE(poller->add(signals->fd(), 9, true, false));
    ASSERT_EQ(::raise(SIGHUP), 0);  // blocked, so it stays pending instead of killing us
    Ready ready[2];
    auto n = poller->wait(std::chrono::seconds(5), ready);
    ASSERT_TRUE(n);
    ASSERT_EQ(*n, 1u);
    EXPECT_EQ(ready[0].token, 9u);
    EXPECT_EQ(signals->read(), SIGHUP);
    EXPECT_EQ(signals->read(), std::nullopt);

    ASSERT_EQ(::raise(SIGTERM), 0);
    EXPECT_EQ(signals->read(), SIGTERM);
  }
  EXPECT_FALSE(blocked(SIGHUP)) << "the old mask is restored";
}

TEST(SignalFd, IgnoresSigpipe) {
  auto signals = SignalFd::create();
  ASSERT_TRUE(signals);
  struct sigaction sa {};
  ASSERT_EQ(sigaction(SIGPIPE, nullptr, &sa), 0);
  EXPECT_EQ(sa.sa_handler, SIG_IGN);
}

TEST(SignalFd, MoveKeepsOneRestore) {
  auto signals = SignalFd::create();
  ASSERT_TRUE(signals);
  {
    SignalFd moved(std::move(*signals));
    EXPECT_TRUE(blocked(SIGINT));
    ASSERT_EQ(::raise(SIGINT), 0);
    EXPECT_EQ(moved.read(), SIGINT);
  }
  EXPECT_FALSE(blocked(SIGINT));
}

}  // namespace
}  // namespace tern::io

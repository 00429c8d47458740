// The agent's loop and a name lookup that hangs (a dead DNS server): the lookup runs on
// io::Resolver's worker, so the loop keeps serving its other sockets, and the answer arrives
// later as one more readable fd.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <future>
#include <memory>
#include <thread>

#include "io/clock.hpp"
#include "io/fd.hpp"
#include "io/poller.hpp"
#include "io/resolver.hpp"

namespace tern::io {
namespace {

using namespace std::chrono_literals;

constexpr uint64_t kTokenAnswer = 1;
constexpr uint64_t kTokenData = 2;

// A lookup that blocks until the test releases it; it outlives the Resolver if need be.
struct StuckLookup {
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
};

Resolver::Lookup stuck_lookup(const std::shared_ptr<StuckLookup>& gate) {
  return [gate](const std::string& name) -> Result<Endpoint> {
    gate->released.wait();
    if (name == "nowhere.invalid:1") return fail("cannot resolve " + name);
    return Endpoint{IpAddress::v4({192, 0, 2, 7}), 443};
  };
}

struct DataPlane {
  UniqueFd a, b;  // a datagram pair: the test writes to b, the loop reads a
  DataPlane() {
    std::array<int, 2> fds{};
    EXPECT_EQ(::socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0, fds.data()), 0);
    a.reset(fds[0]);
    b.reset(fds[1]);
  }
};

TEST(ResolveOffLoop, LoopServesWhileALookupHangs) {
  auto gate = std::make_shared<StuckLookup>();
  auto resolver = Resolver::create(stuck_lookup(gate));
  ASSERT_TRUE(resolver) << resolver.error().message;
  auto poller = Poller::create();
  ASSERT_TRUE(poller);
  DataPlane data;
  ASSERT_TRUE(poller->add(resolver->fd(), kTokenAnswer, true, false));
  ASSERT_TRUE(poller->add(data.a.get(), kTokenData, true, false));

  const uint64_t id = resolver->submit("ctl.example.org:8443");
  std::array<Ready, 4> ready;
  Duration worst{};
  for (int i = 0; i < 50; ++i) {
    const uint8_t byte = static_cast<uint8_t>(i);
    ASSERT_EQ(::send(data.b.get(), &byte, 1, 0), 1);
    const Instant sent = monotonic_now();
    auto n = poller->wait(Duration(2s), ready);
    ASSERT_TRUE(n);
    ASSERT_EQ(*n, 1u) << "the loop waited on the hanging lookup";
    ASSERT_EQ(ready[0].token, kTokenData);
    worst = std::max(worst, monotonic_now() - sent);
    uint8_t got = 0;
    ASSERT_EQ(::recv(data.a.get(), &got, 1, 0), 1);
    EXPECT_EQ(got, byte);
  }
  EXPECT_LT(worst, Duration(200ms)) << "a datagram waited " << worst.count() << " ns";
  EXPECT_TRUE(resolver->take().empty());

  gate->release.set_value();
  auto n = poller->wait(Duration(5s), ready);
  ASSERT_TRUE(n);
  ASSERT_EQ(*n, 1u) << "no answer after the lookup returned";
  EXPECT_EQ(ready[0].token, kTokenAnswer);
  auto answers = resolver->take();
  ASSERT_EQ(answers.size(), 1u);
  EXPECT_EQ(answers[0].id, id);
  EXPECT_EQ(answers[0].name, "ctl.example.org:8443");
  ASSERT_TRUE(answers[0].endpoint);
  EXPECT_EQ(answers[0].endpoint->to_string(), "192.0.2.7:443");
  // Taken: the fd is quiet again.
  n = poller->wait(Duration::zero(), ready);
  ASSERT_TRUE(n);
  EXPECT_EQ(*n, 0u);
}

TEST(ResolveOffLoop, AnswersInOrderWithErrors) {
  auto gate = std::make_shared<StuckLookup>();
  gate->release.set_value();
  auto resolver = Resolver::create(stuck_lookup(gate));
  ASSERT_TRUE(resolver);
  const uint64_t first = resolver->submit("nowhere.invalid:1");
  const uint64_t second = resolver->submit("relay.example.org:3478");
  EXPECT_NE(first, second);
  std::vector<Resolver::Answer> answers;
  const Instant until = monotonic_now() + Duration(5s);
  while (answers.size() < 2 && monotonic_now() < until) {
    for (auto& a : resolver->take())
      answers.push_back(std::move(a));
    std::this_thread::sleep_for(1ms);
  }
  ASSERT_EQ(answers.size(), 2u);
  EXPECT_EQ(answers[0].id, first);
  ASSERT_FALSE(answers[0].endpoint);
  EXPECT_NE(answers[0].endpoint.error().message.find("nowhere.invalid"), std::string::npos);
  EXPECT_EQ(answers[1].id, second);
  EXPECT_TRUE(answers[1].endpoint);
}

TEST(ResolveOffLoop, ShutdownDoesNotWaitForAHangingLookup) {
  auto gate = std::make_shared<StuckLookup>();
  const Instant start = monotonic_now();
  {
    auto resolver = Resolver::create(stuck_lookup(gate));
    ASSERT_TRUE(resolver);
    (void)resolver->submit("ctl.example.org:8443");
    (void)resolver->submit("queued.example.org:8443");
    std::this_thread::sleep_for(10ms);  // the worker is inside the first lookup
  }
  EXPECT_LT(monotonic_now() - start, Duration(500ms));
  gate->release.set_value();  // the worker drops its answer and ends
}

}  // namespace
}  // namespace tern::io

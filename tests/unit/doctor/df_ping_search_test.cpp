#include "doctor/df_ping_search.hpp"

#include <gtest/gtest.h>

#include <map>
#include <random>

namespace tern::doctor {
namespace {

// A path of a given MTU with loss, delay, and an optional "too big" answer from the router in
// front of the small link, driven by a fake clock: the search's whole world.
struct FakePath {
  size_t path_mtu = 1500;
  size_t local_mtu = 65535;  // sends above it fail with EMSGSIZE
  bool sends_too_big = false;
  bool answers = true;  // the target answers echo at all
  double loss = 0;      // each direction together
  Duration rtt = std::chrono::milliseconds(20);
  std::mt19937 rng{1};
};

struct Delivery {
  uint16_t seq;
  bool error;
  uint32_t mtu;
};

DfSearchResult run(DfSearchConfig config, FakePath& path, size_t* rounds_of_sends = nullptr) {
  Instant now = instant_from_ns(1'000'000'000);
  DfSearch search(config, now);
  std::multimap<Instant, Delivery> in_flight;
  std::uniform_real_distribution<double> coin(0, 1);
  size_t send_bursts = 0;
  for (int steps = 0; steps < 100000 && !search.done(); ++steps) {
    bool sent = false;
    while (auto p = search.poll_transmit(now)) {
      sent = true;
      if (p->size > path.local_mtu) {
        search.on_send_failed(p->seq, true, now);
        continue;
      }
      if (p->size > path.path_mtu) {
        if (path.sends_too_big) {
          in_flight.emplace(now + path.rtt / 2,
                            Delivery{p->seq, true, static_cast<uint32_t>(path.path_mtu)});
        }
        continue;
      }
      if (path.answers && coin(path.rng) >= path.loss) {
        in_flight.emplace(now + path.rtt, Delivery{p->seq, false, 0});
      }
    }
    if (sent) send_bursts++;
    if (search.done()) break;
    auto t = search.poll_timeout();
    if (!t) break;
    Instant next = *t;
    if (!in_flight.empty() && in_flight.begin()->first < next) next = in_flight.begin()->first;
    now = std::max(now, next);
    while (!in_flight.empty() && in_flight.begin()->first <= now) {
      const Delivery d = in_flight.begin()->second;
      in_flight.erase(in_flight.begin());
      if (d.error) {
        EXPECT_TRUE(search.on_error(d.seq, true, d.mtu, now));
      } else {
        EXPECT_TRUE(search.on_reply(d.seq, now));
      }
    }
    search.handle_timeout(now);
  }
  EXPECT_TRUE(search.done());
  if (rounds_of_sends) *rounds_of_sends = send_bursts;
  return search.result();
}

DfSearchConfig v4_config() {
  DfSearchConfig c;
  c.min_size = 68;
  c.max_size = 1500;
  c.reach_size = 0;
  return c;
}

TEST(DfSearch, FindsTheMtuOfAHealthyPath) {
  FakePath path;
  path.path_mtu = 1500;
  auto r = run(v4_config(), path);
  ASSERT_TRUE(r.largest_answered);
  EXPECT_EQ(*r.largest_answered, 1500u);
  EXPECT_TRUE(r.exact);
  EXPECT_FALSE(r.smallest_lost);
  EXPECT_FALSE(r.out_of_time);
  EXPECT_TRUE(r.reachable());
  // One round: everything answered, nothing waited for.
  EXPECT_LT(r.elapsed, std::chrono::milliseconds(100));
}

TEST(DfSearch, BlackHoleAt1280IsFoundToTheByteWithinFewTimeouts) {
  FakePath path;
  path.path_mtu = 1280;
  auto r = run(v4_config(), path);
  ASSERT_TRUE(r.largest_answered);
  EXPECT_EQ(*r.largest_answered, 1280u);
  ASSERT_TRUE(r.smallest_lost);
  EXPECT_EQ(*r.smallest_lost, 1281u);
  EXPECT_TRUE(r.exact);
  EXPECT_EQ(r.too_big_errors, 0u);
  EXPECT_FALSE(r.too_big_mtu);
  // Lost sizes need three tries each, but rounds overlap them: well under the budget.
  EXPECT_LT(r.elapsed, std::chrono::seconds(4));
  for (const auto& s : r.sizes) {
    if (s.size > 1280) {
      EXPECT_NE(s.outcome, SizeOutcome::kAnswered) << s.size;
    } else {
      EXPECT_NE(s.outcome, SizeOutcome::kLost) << s.size;
    }
  }
}

TEST(DfSearch, TooBigErrorsSettleSizesAtOnceAndAreReported) {
  FakePath path;
  path.path_mtu = 1400;
  path.sends_too_big = true;
  auto r = run(v4_config(), path);
  ASSERT_TRUE(r.largest_answered);
  EXPECT_EQ(*r.largest_answered, 1400u);
  EXPECT_TRUE(r.exact);
  EXPECT_GT(r.too_big_errors, 0u);
  ASSERT_TRUE(r.too_big_mtu);
  EXPECT_EQ(*r.too_big_mtu, 1400u);
  // No probe waits for a timeout: every answer is a reply or an error.
  EXPECT_LT(r.elapsed, std::chrono::milliseconds(500));
}

TEST(DfSearch, LocalLimitIsRecorded) {
  FakePath path;
  path.path_mtu = 9000;
  path.local_mtu = 1420;
  DfSearchConfig c = v4_config();
  c.max_size = 9000;
  auto r = run(c, path);
  ASSERT_TRUE(r.largest_answered);
  EXPECT_EQ(*r.largest_answered, 1420u);
  ASSERT_TRUE(r.local_limit);
  EXPECT_GE(*r.local_limit, 1421u);
  EXPECT_TRUE(r.exact);
}

TEST(DfSearch, UnreachableTargetEndsAfterItsTries) {
  FakePath path;
  path.answers = false;
  DfSearchConfig c;
  c.min_size = 1280;
  c.max_size = 1500;
  c.reach_size = 104;
  c.tries = 3;
  c.probe_timeout = std::chrono::seconds(1);
  auto r = run(c, path);
  EXPECT_FALSE(r.reachable());
  EXPECT_FALSE(r.largest_answered);
  EXPECT_FALSE(r.out_of_time);
  // Three rounds of one second: the tries, not the budget.
  EXPECT_GE(r.elapsed, std::chrono::seconds(3));
  EXPECT_LT(r.elapsed, std::chrono::milliseconds(3100));
}

TEST(DfSearch, Ipv6BelowItsMinimumIsToldApartFromSilence) {
  FakePath path;
  path.path_mtu = 1000;  // broken: IPv6 needs 1280
  DfSearchConfig c;
  c.min_size = 1280;
  c.max_size = 1500;
  c.reach_size = 104;
  auto r = run(c, path);
  EXPECT_TRUE(r.reachable());
  ASSERT_TRUE(r.largest_answered);
  EXPECT_EQ(*r.largest_answered, 104u);
  ASSERT_TRUE(r.smallest_lost);
  EXPECT_EQ(*r.smallest_lost, 1280u);
  EXPECT_FALSE(r.exact);
}

TEST(DfSearch, BudgetBoundsTheSearch) {
  FakePath path;
  path.path_mtu = 1337;
  DfSearchConfig c = v4_config();
  c.budget = std::chrono::milliseconds(1500);
  c.probe_timeout = std::chrono::seconds(1);
  c.min_timeout = std::chrono::seconds(1);
  auto r = run(c, path);
  EXPECT_TRUE(r.out_of_time);
  EXPECT_LE(r.elapsed, std::chrono::milliseconds(1500));
  ASSERT_TRUE(r.largest_answered);
  EXPECT_LE(*r.largest_answered, 1337u);
}

TEST(DfSearch, StrayRepliesAreRefused) {
  DfSearch s(v4_config(), instant_from_ns(0));
  EXPECT_FALSE(s.on_reply(999, instant_from_ns(1)));
  EXPECT_FALSE(s.on_error(999, true, 1280, instant_from_ns(1)));
  auto p = s.poll_transmit(instant_from_ns(0));
  ASSERT_TRUE(p);
  EXPECT_TRUE(s.on_reply(p->seq, instant_from_ns(10)));
  EXPECT_TRUE(s.on_reply(p->seq, instant_from_ns(20)));  // a duplicate changes nothing
  EXPECT_EQ(s.result().replies, 1u);
}

// The reference is trivial: the path MTU itself. Without loss the search finds it to the
// byte; with loss it never reports more than the path carries.
TEST(DfSearch, RandomPathsMatchTheReference) {
  std::mt19937 rng(42);
  for (int i = 0; i < 300; ++i) {
    FakePath path;
    path.rng.seed(static_cast<unsigned>(i));
    const bool jumbo = i % 3 == 0;
    DfSearchConfig c = v4_config();
    c.max_size = jumbo ? 9000 : 1500;
    path.path_mtu = std::uniform_int_distribution<size_t>(68, c.max_size)(rng);
    path.sends_too_big = i % 2 == 0;
    path.rtt = std::chrono::milliseconds(std::uniform_int_distribution<int>(1, 300)(rng));
    path.loss = i % 4 == 1 ? 0.05 : 0.0;
    c.budget = std::chrono::seconds(30);
    auto r = run(c, path);
    ASSERT_TRUE(r.largest_answered) << i;
    EXPECT_LE(*r.largest_answered, path.path_mtu) << i;
    if (path.loss == 0) {
      EXPECT_EQ(*r.largest_answered, path.path_mtu) << i << " rtt " << path.rtt.count();
      EXPECT_TRUE(r.exact) << i;
    }
    EXPECT_FALSE(r.out_of_time) << i;
  }
}

}  // namespace
}  // namespace tern::doctor

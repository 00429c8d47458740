#include "core/outstanding_probes.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <set>
#include <vector>

namespace tern::core {
namespace {

constexpr Instant kT0 = instant_from_ns(1'000'000'000);

wire::ProbeTxId id(uint32_t n) {
  wire::ProbeTxId t{};
  for (size_t i = 0; i < 4; ++i)
    t[i] = static_cast<uint8_t>(n >> (8 * i));
  return t;
}

OutstandingProbes::Entry entry(uint32_t n, Duration ttl, uint64_t tag = 1, size_t size = 1400) {
  return {id(n), tag, size, kT0, kT0 + ttl};
}

TEST(OutstandingProbes, APongMatchesItsPingOnce) {
  OutstandingProbes t;
  t.add(entry(1, 3s, 7, 1472));
  t.add(entry(2, 3s));
  EXPECT_EQ(t.size(), 2u);
  auto e = t.take(id(1), kT0 + 1s);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->tag, 7u);
  EXPECT_EQ(e->probe_size, 1472u);
  EXPECT_EQ(e->sent, kT0);
  EXPECT_FALSE(t.take(id(1), kT0 + 1s));  // the replayed pong
  EXPECT_FALSE(t.take(id(3), kT0 + 1s));  // never sent
  EXPECT_EQ(t.size(), 1u);
}

TEST(OutstandingProbes, ExpiredPingsMatchNothing) {
  OutstandingProbes t;
  t.add(entry(1, 3s));
  t.add(entry(2, 5s));
  EXPECT_EQ(t.next_expiry(), kT0 + 3s);
  EXPECT_FALSE(t.take(id(1), kT0 + 3s));  // late: dropped and forgotten
  EXPECT_EQ(t.size(), 1u);
  t.expire(kT0 + 5s);
  EXPECT_EQ(t.size(), 0u);
  EXPECT_FALSE(t.next_expiry());
}

TEST(OutstandingProbes, FullTableEvictsTheEntryExpiringFirst) {
  OutstandingProbes t;
  for (uint32_t i = 0; i < OutstandingProbes::kCapacity; ++i)
    t.add(entry(i, Duration(std::chrono::seconds(10 + i))));
  t.add(entry(1000, 100s));
  EXPECT_EQ(t.size(), OutstandingProbes::kCapacity);
  EXPECT_FALSE(t.take(id(0), kT0));  // the one expiring first made room
  EXPECT_TRUE(t.take(id(1), kT0));
  EXPECT_TRUE(t.take(id(1000), kT0));
}

TEST(OutstandingProbes, RemoveTagForgetsAPeersPings) {
  OutstandingProbes t;
  t.add(entry(1, 3s, 5));
  t.add(entry(2, 3s, 6));
  t.add(entry(3, 3s, 5));
  t.remove_tag(5);
  EXPECT_EQ(t.size(), 1u);
  EXPECT_TRUE(t.take(id(2), kT0));
}

// A trivially correct reference: a list, evicting the earliest expiry when full.
struct Reference {
  std::vector<OutstandingProbes::Entry> entries;
  void add(const OutstandingProbes::Entry& e) {
    if (entries.size() == OutstandingProbes::kCapacity) {
      auto first =
          std::min_element(entries.begin(), entries.end(),
                           [](const auto& a, const auto& b) { return a.expires < b.expires; });
      entries.erase(first);
    }
    entries.push_back(e);
  }
  std::optional<OutstandingProbes::Entry> take(const wire::ProbeTxId& tx, Instant now) {
    auto it =
        std::find_if(entries.begin(), entries.end(), [&](const auto& e) { return e.tx_id == tx; });
    if (it == entries.end()) return std::nullopt;
    std::optional<OutstandingProbes::Entry> out;
    if (now < it->expires) out = *it;
    entries.erase(it);
    return out;
  }
  void expire(Instant now) {
    std::erase_if(entries, [&](const auto& e) { return now >= e.expires; });
  }
};

TEST(OutstandingProbes, MatchesTheReferenceOnRandomOperations) {
  std::mt19937 rng(99);
  OutstandingProbes t;
  Reference ref;
  Instant now = kT0;
  uint32_t next_id = 0;
  std::set<int64_t> used_expiries;  // distinct, so eviction order is unambiguous
  for (int step = 0; step < 20000; ++step) {
    now += std::chrono::milliseconds(rng() % 50);
    switch (rng() % 4) {
      case 0:
      case 1: {
        int64_t ttl_ms;
        do {
          ttl_ms = 500 + static_cast<int64_t>(rng() % 5000);
        } while (!used_expiries.insert(to_ns(now) / 1'000'000 + ttl_ms).second);
        OutstandingProbes::Entry e{id(next_id++), rng() % 4, 1280 + rng() % 200, now,
                                   now + std::chrono::milliseconds(ttl_ms)};
        t.add(e);
        ref.add(e);
        break;
      }
      case 2: {
        const wire::ProbeTxId tx = id(next_id - std::min<uint32_t>(next_id, rng() % 40));
        auto a = t.take(tx, now);
        auto b = ref.take(tx, now);
        ASSERT_EQ(a.has_value(), b.has_value()) << step;
        if (a) {
          ASSERT_EQ(a->tag, b->tag);
        }
        break;
      }
      case 3:
        t.expire(now);
        ref.expire(now);
        break;
    }
    ASSERT_EQ(t.size(), ref.entries.size()) << step;
  }
}

}  // namespace
}  // namespace tern::core

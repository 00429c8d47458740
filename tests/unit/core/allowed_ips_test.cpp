#include "core/allowed_ips.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <random>
#include <vector>

namespace tern::core {
namespace {

IpPrefix pfx(std::string_view text) {
  auto p = IpPrefix::parse(text);
  EXPECT_TRUE(p) << text;
  return p.value_or(IpPrefix{});
}

IpAddress ip(std::string_view text) {
  auto a = IpAddress::parse(text);
  EXPECT_TRUE(a) << text;
  return a.value_or(IpAddress{});
}

std::optional<uint32_t> get(const AllowedIps<uint32_t>& t, const IpAddress& a) {
  const uint32_t* v = t.lookup(a);
  return v ? std::optional<uint32_t>(*v) : std::nullopt;
}

// The trivially correct table: a vector scanned end to end.
class ReferenceTable {
 public:
  void insert(const IpPrefix& prefix, uint32_t value) {
    IpPrefix m = prefix.masked();
    for (auto& e : entries_) {
      if (e.first == m) {
        e.second = value;
        return;
      }
    }
    entries_.emplace_back(m, value);
  }
  bool remove(const IpPrefix& prefix, uint32_t owner) {
    IpPrefix m = prefix.masked();
    auto it = std::find(entries_.begin(), entries_.end(), std::make_pair(m, owner));
    if (it == entries_.end()) return false;
    entries_.erase(it);
    return true;
  }
  void remove(uint32_t value) {
    std::erase_if(entries_, [&](const auto& e) { return e.second == value; });
  }
  std::optional<uint32_t> lookup(const IpAddress& a) const {
    std::optional<uint32_t> best;
    int best_len = -1;
    for (const auto& [p, v] : entries_) {
      if (p.contains(a) && p.length > best_len) {
        best = v;
        best_len = p.length;
      }
    }
    return best;
  }
  std::vector<IpPrefix> prefixes(uint32_t value) const {
    std::vector<IpPrefix> out;
    for (const auto& [p, v] : entries_) {
      if (v == value) out.push_back(p);
    }
    return out;
  }
  size_t size() const { return entries_.size(); }

 private:
  std::vector<std::pair<IpPrefix, uint32_t>> entries_;
};

TEST(AllowedIps, EmptyTableRoutesNothing) {
  AllowedIps<uint32_t> t;
  EXPECT_FALSE(get(t, ip("10.0.0.1")));
  EXPECT_FALSE(get(t, ip("::1")));
  EXPECT_TRUE(t.empty());
}

TEST(AllowedIps, LongestPrefixWins) {
  AllowedIps<uint32_t> t;
  t.insert(pfx("0.0.0.0/0"), 1);
  t.insert(pfx("10.0.0.0/8"), 2);
  t.insert(pfx("10.1.0.0/16"), 3);
  t.insert(pfx("10.1.2.3/32"), 4);
  EXPECT_EQ(get(t, ip("192.0.2.1")), 1u);
  EXPECT_EQ(get(t, ip("10.200.0.1")), 2u);
  EXPECT_EQ(get(t, ip("10.1.9.9")), 3u);
  EXPECT_EQ(get(t, ip("10.1.2.3")), 4u);
  EXPECT_EQ(get(t, ip("10.1.2.4")), 3u);
  EXPECT_FALSE(get(t, ip("2001:db8::1")));  // families never mix
}

TEST(AllowedIps, Ipv6) {
  AllowedIps<uint32_t> t;
  t.insert(pfx("::/0"), 1);
  t.insert(pfx("2001:db8::/32"), 2);
  t.insert(pfx("2001:db8:0:0:8000::/65"), 3);
  t.insert(pfx("2001:db8::1/128"), 4);
  EXPECT_EQ(get(t, ip("fe80::1")), 1u);
  EXPECT_EQ(get(t, ip("2001:db8:1::")), 2u);
  EXPECT_EQ(get(t, ip("2001:db8::8000:0:0:1")), 3u);
  EXPECT_EQ(get(t, ip("2001:db8::7fff:0:0:1")), 2u);
  EXPECT_EQ(get(t, ip("2001:db8::1")), 4u);
  EXPECT_FALSE(get(t, ip("10.0.0.1")));
}

TEST(AllowedIps, APrefixBelongsToOnePeer) {
  AllowedIps<uint32_t> t;
  t.insert(pfx("10.0.0.2/32"), 1);
  t.insert(pfx("10.0.0.2/32"), 2);
  EXPECT_EQ(get(t, ip("10.0.0.2")), 2u);
  EXPECT_TRUE(t.prefixes(1).empty());
  EXPECT_EQ(t.prefixes(2), std::vector<IpPrefix>{pfx("10.0.0.2/32")});
  EXPECT_EQ(t.size(), 1u);
}

TEST(AllowedIps, HostBitsAreIgnored) {
  AllowedIps<uint32_t> t;
  t.insert(pfx("10.0.0.77/24"), 1);
  EXPECT_EQ(get(t, ip("10.0.0.1")), 1u);
  EXPECT_EQ(t.prefixes(1), std::vector<IpPrefix>{pfx("10.0.0.0/24")});
  t.insert(pfx("10.0.0.0/24"), 2);  // the same prefix
  EXPECT_EQ(t.size(), 1u);
}

TEST(AllowedIps, RejectsALengthBeyondTheFamily) {
  AllowedIps<uint32_t> t;
  EXPECT_FALSE(t.insert(IpPrefix{ip("10.0.0.1"), 33}, 1));
  EXPECT_FALSE(t.insert(IpPrefix{ip("::1"), 129}, 1));
  EXPECT_TRUE(t.empty());
}

TEST(AllowedIps, RemovePeerKeepsOthers) {
  AllowedIps<uint32_t> t;
  t.insert(pfx("10.0.0.0/8"), 1);
  t.insert(pfx("10.1.0.0/16"), 2);
  t.insert(pfx("10.1.1.0/24"), 1);
  t.insert(pfx("fd00::/8"), 1);
  t.remove(uint32_t{1});
  EXPECT_EQ(get(t, ip("10.1.1.1")), 2u);
  EXPECT_FALSE(get(t, ip("10.2.0.1")));
  EXPECT_FALSE(get(t, ip("fd00::1")));
  EXPECT_EQ(t.size(), 1u);
  t.remove(uint32_t{2});
  EXPECT_TRUE(t.empty());
  EXPECT_FALSE(get(t, ip("10.1.1.1")));
}

TEST(AllowedIps, RemoveOnePrefixOnlyFromItsOwner) {
  AllowedIps<uint32_t> t;
  t.insert(pfx("10.0.0.0/24"), 1);
  EXPECT_FALSE(t.remove(pfx("10.0.0.0/24"), 2));
  EXPECT_FALSE(t.remove(pfx("10.0.0.0/25"), 1));
  EXPECT_TRUE(t.remove(pfx("10.0.0.9/24"), 1));
  EXPECT_TRUE(t.empty());
}

TEST(AllowedIps, PrefixesAreListedInAddressOrder) {
  AllowedIps<uint32_t> t;
  for (auto text : {"fd00::/64", "10.128.0.0/9", "10.0.0.0/24", "10.0.0.0/8", "192.0.2.1/32"}) {
    t.insert(pfx(text), 7);
  }
  std::vector<IpPrefix> expected = {pfx("10.0.0.0/8"), pfx("10.0.0.0/24"), pfx("10.128.0.0/9"),
                                    pfx("192.0.2.1/32"), pfx("fd00::/64")};
  EXPECT_EQ(t.prefixes(7), expected);
  std::vector<IpPrefix> seen;
  t.for_each([&](const IpPrefix& p, uint32_t v) {
    EXPECT_EQ(v, 7u);
    seen.push_back(p);
  });
  EXPECT_EQ(seen, expected);
}

TEST(AllowedIps, ClearEmptiesBothFamilies) {
  AllowedIps<uint32_t> t;
  t.insert(pfx("0.0.0.0/0"), 1);
  t.insert(pfx("::/0"), 1);
  t.clear();
  EXPECT_TRUE(t.empty());
  EXPECT_FALSE(get(t, ip("1.2.3.4")));
  EXPECT_FALSE(get(t, ip("::1")));
}

// Addresses drawn near a few bases so that prefixes nest, overlap and split.
class RandomPrefixes {
 public:
  explicit RandomPrefixes(uint32_t seed) : rng_(seed) {
    for (auto& b : bases_) {
      for (auto& byte : b)
        byte = static_cast<uint8_t>(rng_());
    }
  }

  IpAddress address(bool v4) {
    auto b = bases_[rng_() % bases_.size()];
    // Keep a random number of leading bits of the base, randomise the rest.
    unsigned bits = v4 ? 32 : 128;
    unsigned keep = static_cast<unsigned>(rng_() % (bits + 1));
    for (unsigned i = keep; i < bits; ++i) {
      uint8_t m = static_cast<uint8_t>(0x80 >> (i % 8));
      if (rng_() & 1) b[i / 8] ^= m;
    }
    if (v4) return IpAddress::v4({b[0], b[1], b[2], b[3]});
    return IpAddress::v6(b);
  }

  IpPrefix prefix(bool v4) {
    unsigned bits = v4 ? 32 : 128;
    // Mostly long prefixes, some short ones, the extremes included.
    unsigned len = (rng_() % 4 == 0) ? static_cast<unsigned>(rng_() % (bits + 1))
                                     : bits - static_cast<unsigned>(rng_() % 9);
    return IpPrefix{address(v4), static_cast<uint8_t>(len)};
  }

  uint32_t next() { return static_cast<uint32_t>(rng_()); }

 private:
  std::mt19937 rng_;
  std::array<std::array<uint8_t, 16>, 4> bases_{};
};

TEST(AllowedIps, MatchesTheReferenceOnRandomOperations) {
  for (uint32_t seed = 1; seed <= 20; ++seed) {
    RandomPrefixes gen(seed);
    AllowedIps<uint32_t> table;
    ReferenceTable ref;
    constexpr uint32_t kPeers = 8;
    for (int step = 0; step < 3000; ++step) {
      bool v4 = gen.next() & 1;
      uint32_t op = gen.next() % 100;
      if (op < 60) {
        IpPrefix p = gen.prefix(v4);
        uint32_t peer = gen.next() % kPeers;
        ASSERT_TRUE(table.insert(p, peer));
        ref.insert(p, peer);
      } else if (op < 65) {
        uint32_t peer = gen.next() % kPeers;
        table.remove(peer);
        ref.remove(peer);
      } else if (op < 75) {
        IpPrefix p = gen.prefix(v4);
        uint32_t peer = gen.next() % kPeers;
        ASSERT_EQ(table.remove(p, peer), ref.remove(p, peer)) << p.to_string();
      } else {
        IpAddress a = gen.address(v4);
        ASSERT_EQ(get(table, a), ref.lookup(a))
            << "seed " << seed << " step " << step << " " << a.to_string();
      }
      ASSERT_EQ(table.size(), ref.size());
      // Every branch node has two children, so branches never outnumber entries.
      ASSERT_LE(table.node_count(), 2 * table.size());
    }
    for (uint32_t peer = 0; peer < kPeers; ++peer) {
      auto got = table.prefixes(peer);
      auto want = ref.prefixes(peer);
      std::sort(got.begin(), got.end());
      std::sort(want.begin(), want.end());
      ASSERT_EQ(got, want) << "seed " << seed << " peer " << peer;
    }
  }
}

// Removing everything, in any order, leaves no stale branch that could route.
TEST(AllowedIps, DrainsCompletely) {
  RandomPrefixes gen(99);
  AllowedIps<uint32_t> table;
  ReferenceTable ref;
  for (int i = 0; i < 2000; ++i) {
    bool v4 = i & 1;
    IpPrefix p = gen.prefix(v4);
    table.insert(p, static_cast<uint32_t>(i % 50));
    ref.insert(p, static_cast<uint32_t>(i % 50));
  }
  for (uint32_t peer = 0; peer < 50; peer += 2) {
    table.remove(peer);
    ref.remove(peer);
  }
  for (int i = 0; i < 2000; ++i) {
    IpAddress a = gen.address(i & 1);
    ASSERT_EQ(get(table, a), ref.lookup(a)) << a.to_string();
  }
  for (uint32_t peer = 1; peer < 50; peer += 2)
    table.remove(peer);
  EXPECT_TRUE(table.empty());
  EXPECT_EQ(table.node_count(), 0u);
  EXPECT_FALSE(get(table, gen.address(true)));
  EXPECT_FALSE(get(table, gen.address(false)));
}

// Not a pass/fail test: prints the cost of a lookup in a mesh-sized table (10k
// peers, a /32 and a /128 each, a few subnets) so that a change to the trie can be
// compared. The numbers mean something only in a Release build.
TEST(AllowedIps, LookupThroughput) {
  std::mt19937 rng(5);
  AllowedIps<uint32_t> table;
  std::vector<IpAddress> addresses;
  for (uint32_t i = 0; i < 10000; ++i) {
    IpAddress v4 = IpAddress::v4(0x0a000000u | (rng() & 0x00ffffffu));
    std::array<uint8_t, 16> b{0xfd, 0x00, 0, 0, 0, 0, 0, 0};
    for (int k = 8; k < 16; ++k)
      b[k] = static_cast<uint8_t>(rng());
    IpAddress v6 = IpAddress::v6(b);
    table.insert(IpPrefix{v4, 32}, i);
    table.insert(IpPrefix{v6, 128}, i);
    if (i % 100 == 0) table.insert(IpPrefix{v4, 24}, i);
    addresses.push_back(v4);
    addresses.push_back(v6);
  }
  std::shuffle(addresses.begin(), addresses.end(), rng);
  constexpr size_t kLookups = 1000000;
  uint64_t hits = 0;
  auto start = std::chrono::steady_clock::now();
  for (size_t i = 0; i < kLookups; ++i) {
    hits += table.lookup(addresses[i % addresses.size()]) != nullptr;
  }
  auto ns =
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - start)
          .count();
  std::printf("allowed-ips: %zu prefixes, %.1f ns per lookup\n", table.size(),
              static_cast<double>(ns) / kLookups);
  EXPECT_EQ(hits, kLookups);
}

}  // namespace
}  // namespace tern::core

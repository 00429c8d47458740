#include "control/setup_key.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <vector>

#include "control/address_pool.hpp"
#include "control/secret.hpp"

namespace tern::control {
namespace {

SetupKeyRecord key(bool reusable, uint32_t limit, uint32_t used) {
  SetupKeyRecord k;
  k.reusable = reusable;
  k.usage_limit = limit;
  k.used = used;
  return k;
}

TEST(SetupKey, VerdictTable) {
  EXPECT_EQ(check_setup_key(key(false, 1, 0), 100), KeyVerdict::kOk);
  EXPECT_EQ(check_setup_key(key(false, 1, 1), 100), KeyVerdict::kUsedUp);
  // A one-off key is used up after one use whatever its limit says.
  EXPECT_EQ(check_setup_key(key(false, 0, 1), 100), KeyVerdict::kUsedUp);
  EXPECT_EQ(check_setup_key(key(true, 3, 2), 100), KeyVerdict::kOk);
  EXPECT_EQ(check_setup_key(key(true, 3, 3), 100), KeyVerdict::kUsedUp);
  EXPECT_EQ(check_setup_key(key(true, 0, 100000), 100), KeyVerdict::kOk);

  auto expiring = key(true, 0, 0);
  expiring.expires_unix = 200;
  EXPECT_EQ(check_setup_key(expiring, 199), KeyVerdict::kOk);
  EXPECT_EQ(check_setup_key(expiring, 200), KeyVerdict::kExpired);

  auto revoked = key(false, 1, 1);
  revoked.expires_unix = 50;
  revoked.revoked = true;
  EXPECT_EQ(check_setup_key(revoked, 100), KeyVerdict::kRevoked);  // the most permanent reason
  EXPECT_EQ(verdict_name(KeyVerdict::kUsedUp), "used up");
}

TEST(SetupKey, Tags) {
  auto t = parse_tags("web,db:prod,a.b-c_d");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->size(), 3u);
  EXPECT_EQ(join_tags(*t), "web,db:prod,a.b-c_d");
  EXPECT_TRUE(parse_tags("")->empty());
  EXPECT_FALSE(parse_tags("Web"));
  EXPECT_FALSE(parse_tags("a,,b"));
  EXPECT_FALSE(parse_tags("a,"));
  EXPECT_FALSE(parse_tags("a b"));
  EXPECT_FALSE(parse_tags(std::string(64, 'a')));
}

TEST(Secret, GeneratedLookedUpAndMatchedByHash) {
  const std::string a = generate_secret(kSetupKeyPrefix);
  const std::string b = generate_secret(kSetupKeyPrefix);
  EXPECT_NE(a, b);
  EXPECT_EQ(a.size(), kSetupKeyPrefix.size() + 43);
  EXPECT_EQ(secret_lookup(a, kSetupKeyPrefix), a.substr(0, kSetupKeyPrefix.size() + kLookupLength));
  EXPECT_EQ(secret_lookup(a, kAdminTokenPrefix), "");
  EXPECT_EQ(secret_lookup("tsk_short", kSetupKeyPrefix), "");
  EXPECT_EQ(secret_lookup("tsk_abcdefgh/ij", kSetupKeyPrefix), "");
  const auto h = hash_secret(a);
  EXPECT_TRUE(secret_matches(h, a));
  EXPECT_FALSE(secret_matches(h, b));
  std::string flipped = a;
  flipped.back() = flipped.back() == 'A' ? 'B' : 'A';
  EXPECT_FALSE(secret_matches(h, flipped));
  EXPECT_FALSE(secret_matches(h, ""));
}

TEST(AddressPool, NumbersAndAddresses) {
  auto pool = parse_v4_pool("100.64.0.0/10");
  ASSERT_TRUE(pool);
  EXPECT_EQ(pool_capacity(*pool), (1u << 22) - 2);
  EXPECT_EQ(v4_at(*pool, 1).to_string(), "100.64.0.1");
  EXPECT_EQ(v4_at(*pool, 256).to_string(), "100.64.1.0");
  const uint8_t id[5] = {0x12, 0x34, 0x56, 0x78, 0x9a};
  const IpPrefix ula = ula48(std::span<const uint8_t, 5>(id, 5));
  EXPECT_EQ(ula.to_string(), "fd12:3456:789a::/48");
  EXPECT_EQ(v6_at(ula, 0x10203).to_string(), "fd12:3456:789a::1:203");
  EXPECT_FALSE(parse_v4_pool("100.64.0.1/10"));
  EXPECT_FALSE(parse_v4_pool("fd00::/8"));
  EXPECT_FALSE(parse_v4_pool("10.0.0.0/31"));
}

TEST(AddressPool, NextNumberAgainstReference) {
  // Reference: max + 1 if it fits, else the lowest free number.
  auto reference = [](const std::vector<uint32_t>& taken, uint32_t cap) -> std::optional<uint32_t> {
    uint32_t max = 0;
    for (auto n : taken)
      max = std::max(max, n);
    if (max < cap) return max + 1;
    for (uint32_t n = 1; n <= cap; ++n) {
      if (std::find(taken.begin(), taken.end(), n) == taken.end()) return n;
    }
    return std::nullopt;
  };
  std::mt19937 rng(7);
  for (int round = 0; round < 2000; ++round) {
    const uint32_t cap = 1 + rng() % 12;
    std::vector<uint32_t> taken;
    for (uint32_t n = 1; n <= cap; ++n) {
      if (rng() % 2) taken.push_back(n);
    }
    EXPECT_EQ(next_number(taken, cap), reference(taken, cap)) << "round " << round;
  }
  EXPECT_EQ(next_number({}, 0), std::nullopt);
}

}  // namespace
}  // namespace tern::control

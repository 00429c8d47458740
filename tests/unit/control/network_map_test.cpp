#include "control/network_map.hpp"

#include <gtest/gtest.h>

#include <random>

#include "core/turn_credentials.hpp"
#include "crypto/key_encoding.hpp"

namespace tern::control {
namespace {

AddressPlan plan() {
  return AddressPlan{*IpPrefix::parse("100.64.0.0/10"), *IpPrefix::parse("fd00:1:2::/48")};
}

PeerRecord record(uint8_t id, uint32_t number) {
  PeerRecord r;
  r.id = id;
  r.public_key.fill(id);
  r.name = "p" + std::to_string(id);
  r.number = number;
  r.ipv4 = v4_at(plan().v4, number);
  r.ipv6 = v6_at(plan().v6, number);
  return r;
}

TEST(NetworkMap, HoldsEveryOtherPeerAndRelayCredentials) {
  std::vector<PeerRecord> all = {record(3, 1), record(1, 2), record(2, 3)};
  all[2].endpoints = {*Endpoint::parse("192.0.2.7:51820")};
  const std::vector<RelayConfig> relays = {{"turn:192.0.2.1:3478", "s3cret", 3600}};
  const NetworkMap m = build_map(all, all[0], plan(), relays, 7, 1'700'000'000);
  EXPECT_EQ(m.revision, 7);
  EXPECT_EQ(m.self.ipv4.to_string(), "100.64.0.1");
  ASSERT_EQ(m.peers.size(), 2u);
  EXPECT_EQ(m.peers[0].public_key, all[1].public_key);  // sorted by key
  EXPECT_EQ(m.peers[1].endpoints, all[2].endpoints);
  ASSERT_EQ(m.relays.size(), 1u);
  const auto& r = m.relays[0];
  // coturn's use-auth-secret: username "expiry:peer", password base64(HMAC-SHA1(secret, user)).
  EXPECT_EQ(r.username,
            std::to_string(r.expires_unix) + ":" + crypto::key_to_base64(all[0].public_key));
  EXPECT_EQ(r.password, core::rest_credentials("s3cret", crypto::key_to_base64(all[0].public_key),
                                               r.expires_unix)
                            .password);
  EXPECT_GT(r.expires_unix, 1'700'000'000 + 3600);
  EXPECT_LE(r.expires_unix, 1'700'000'000 + 3600 * 3 / 2);

  const auto j = map_json(m);
  EXPECT_EQ(j["self"]["ipv4"], "100.64.0.1");
  EXPECT_EQ(j["peers"].size(), 2u);
  EXPECT_EQ(j["peers"][1]["endpoints"][0], "192.0.2.7:51820");
  EXPECT_EQ(j["relays"][0]["url"], "turn:192.0.2.1:3478");
}

TEST(NetworkMap, CredentialsChangeOnlyEveryHalfTtl) {
  const int64_t ttl = 3600;
  for (int64_t now = 1'700'000'000; now < 1'700'000'000 + 4 * ttl; now += 97) {
    const int64_t e = credential_expiry(now, ttl);
    EXPECT_GT(e - now, ttl) << now;            // always at least a TTL left when handed out
    EXPECT_LE(e - now, ttl + ttl / 2) << now;  // never much more
    EXPECT_EQ(e % (ttl / 2), 0);
  }
  EXPECT_EQ(credential_expiry(1800 * 10, ttl), credential_expiry(1800 * 10 + 1799, ttl));
}

TEST(NetworkMap, DeltaNamesWhatChanged) {
  std::vector<PeerRecord> all = {record(1, 1), record(2, 2), record(3, 3)};
  const NetworkMap before = build_map(all, all[0], plan(), {}, 1, 100);
  all.erase(all.begin() + 1);                                  // 2 removed
  all[1].endpoints = {*Endpoint::parse("198.51.100.2:4000")};  // 3 moved
  all.push_back(record(4, 4));                                 // 4 joined
  const NetworkMap after = build_map(all, all[0], plan(), {}, 2, 100);
  const MapDelta d = diff_maps(before, after);
  EXPECT_FALSE(d.self);
  EXPECT_FALSE(d.relays);
  ASSERT_EQ(d.removed.size(), 1u);
  EXPECT_EQ(d.removed[0], record(2, 2).public_key);
  ASSERT_EQ(d.upserted.size(), 2u);
  EXPECT_EQ(d.upserted[0].public_key, record(3, 3).public_key);
  EXPECT_EQ(d.upserted[1].public_key, record(4, 4).public_key);
  EXPECT_EQ(apply_delta(before, d), after);
  EXPECT_TRUE(diff_maps(after, after).empty());
  const auto j = delta_json(d);
  EXPECT_EQ(j["type"], "delta");
  EXPECT_EQ(j["removed"].size(), 1u);
  EXPECT_EQ(j["upserted"].size(), 2u);
}

TEST(NetworkMap, ApplyingTheDeltaGivesTheFullMapOnRandomChanges) {
  std::mt19937 rng(11);
  const std::vector<RelayConfig> relays = {{"turn:192.0.2.1:3478", "k", 600}};
  for (int round = 0; round < 300; ++round) {
    std::vector<PeerRecord> a, b;
    for (uint8_t id = 1; id < 20; ++id) {
      auto r = record(id, id);
      if (rng() % 3) a.push_back(r);
      if (rng() % 4 == 0) r.endpoints = {Endpoint{IpAddress::v4(0xc0000200u + id), 51820}};
      if (rng() % 4 == 0) r.tags = {"t" + std::to_string(rng() % 3)};
      if (rng() % 3) b.push_back(r);
    }
    const PeerRecord self = record(42, 42);
    a.push_back(self);
    b.push_back(self);
    const NetworkMap from = build_map(a, self, plan(), relays, round, 1000 + round * 250);
    const NetworkMap to = build_map(b, self, plan(), relays, round + 1, 1000 + round * 250 + 97);
    EXPECT_EQ(apply_delta(from, diff_maps(from, to)), to) << "round " << round;
  }
}

}  // namespace
}  // namespace tern::control

#include "control/map_hub.hpp"

#include <gtest/gtest.h>

#include <map>

#include <nlohmann/json.hpp>

namespace tern::control {
namespace {

using nlohmann::json;

AddressPlan plan() {
  return AddressPlan{*IpPrefix::parse("100.64.0.0/10"), *IpPrefix::parse("fd00:1:2::/48")};
}

PeerRecord record(uint8_t id) {
  PeerRecord r;
  r.id = id;
  r.public_key.fill(id);
  r.number = id;
  r.ipv4 = v4_at(plan().v4, id);
  r.ipv6 = v6_at(plan().v6, id);
  return r;
}

TEST(MapHub, FullMapThenDeltasOnlyToThoseAffected) {
  MapHub hub({});
  std::vector<PeerRecord> all = {record(1), record(2)};
  const json first = json::parse(joined(hub.subscribe(10, all[0], all, plan(), 1, 100)));
  EXPECT_EQ(first["type"], "map");
  EXPECT_EQ(first["peers"].size(), 1u);
  (void)hub.subscribe(20, all[1], all, plan(), 1, 100);

  EXPECT_TRUE(hub.publish(all, plan(), 1, 100).empty());  // nothing changed

  all.push_back(record(3));  // a third joins: both get a delta naming it
  auto pushes = hub.publish(all, plan(), 2, 100);
  ASSERT_EQ(pushes.size(), 2u);
  for (const auto& p : pushes) {
    const json d = json::parse(joined(p.message));
    EXPECT_EQ(d["type"], "delta");
    EXPECT_EQ(d["from"], 1);
    EXPECT_EQ(d["to"], 2);
    ASSERT_EQ(d["upserted"].size(), 1u);
    EXPECT_EQ(d["upserted"][0]["ipv4"], "100.64.0.3");
    EXPECT_FALSE(p.close);
  }

  all[1].endpoints = {*Endpoint::parse("192.0.2.2:51820")};  // 2 moved: only 1 hears of it
  pushes = hub.publish(all, plan(), 3, 100);
  ASSERT_EQ(pushes.size(), 2u);  // 20 gets its own record as "self"
  EXPECT_EQ(pushes[0].stream, 10u);
  EXPECT_EQ(json::parse(joined(pushes[0].message))["upserted"][0]["endpoints"][0],
            "192.0.2.2:51820");
  EXPECT_TRUE(json::parse(joined(pushes[1].message)).contains("self"));

  all.erase(all.begin());  // 1 removed: told so and closed; 20 sees it go
  pushes = hub.publish(all, plan(), 4, 100);
  ASSERT_EQ(pushes.size(), 2u);
  EXPECT_EQ(pushes[0].stream, 10u);
  EXPECT_TRUE(pushes[0].close);
  EXPECT_EQ(json::parse(joined(pushes[1].message))["removed"].size(), 1u);
  EXPECT_EQ(hub.size(), 1u);
}

TEST(MapHub, CredentialsRollOverAsADelta) {
  MapHub hub({{"turn:192.0.2.1:3478", "s", 3600}});
  std::vector<PeerRecord> all = {record(1)};
  (void)hub.subscribe(1, all[0], all, plan(), 1, 1'700'000'000);
  EXPECT_TRUE(hub.publish(all, plan(), 1, 1'700'000'000 + 60).empty());
  auto pushes = hub.publish(all, plan(), 1, 1'700'000'000 + 1800);
  ASSERT_EQ(pushes.size(), 1u);
  EXPECT_TRUE(json::parse(joined(pushes[0].message)).contains("relays"));
}

// Streams opening at one revision share one serialised peer list (each skips its own entry,
// wherever it sits), and a delta all of them get is one buffer too.
TEST(MapHub, StreamsShareTheFullMapAndTheCommonDelta) {
  const std::vector<RelayConfig> relays = {{"turn:192.0.2.1:3478", "s", 3600}};
  MapHub hub(relays);
  std::vector<PeerRecord> all;
  for (uint8_t id = 1; id <= 5; ++id)
    all.push_back(record(id));
  all[2].endpoints = {*Endpoint::parse("192.0.2.9:4")};
  all[2].tags = {"web"};
  std::map<const std::string*, int> buffers;
  for (uint64_t s = 0; s < all.size(); ++s) {
    const SharedMessage m = hub.subscribe(s, all[s], all, plan(), 7, 1'700'000'000);
    EXPECT_EQ(joined(m), map_json(build_map(all, all[s], plan(), relays, 7, 1'700'000'000)).dump())
        << "stream " << s;
    ASSERT_GE(m.size(), 3u);  // own head, the shared list (one or two slices), own tail
    for (size_t i = 1; i + 1 < m.size(); ++i)
      ++buffers[m[i].text.get()];
  }
  EXPECT_EQ(buffers.size(), 1u);
  // One peer alone: an empty list.
  MapHub lone({});
  EXPECT_EQ(joined(lone.subscribe(1, all[0], {all[0]}, plan(), 1, 0)),
            map_json(build_map({all[0]}, all[0], plan(), {}, 1, 0)).dump());

  all.push_back(record(9));
  const auto pushes = hub.publish(all, plan(), 8, 1'700'000'000);
  ASSERT_EQ(pushes.size(), 5u);
  for (const auto& p : pushes) {
    ASSERT_EQ(p.message.size(), 1u);
    EXPECT_EQ(p.message[0].text, pushes[0].message[0].text);
  }
}

TEST(MapHub, EndpointsMessage) {
  auto ok = parse_endpoints_message(
      R"({"type":"endpoints","endpoints":["192.0.2.1:51820","[2001:db8::1]:4"]})");
  ASSERT_TRUE(ok) << ok.error().message;
  EXPECT_EQ(ok->size(), 2u);
  EXPECT_FALSE(parse_endpoints_message(R"({"type":"endpoints","endpoints":["example.org:1"]})"));
  EXPECT_FALSE(parse_endpoints_message(R"({"type":"other"})"));
  EXPECT_FALSE(parse_endpoints_message("[]"));
  EXPECT_FALSE(parse_endpoints_message("{"));
}

}  // namespace
}  // namespace tern::control

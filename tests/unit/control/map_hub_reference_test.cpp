// MapHub against a slow reference on random histories: the hub that existed before it
// shared one peer list per revision (a full map per stream, rebuilt and diffed on every
// publish) must send byte-identical messages, and an agent following the stream
// (MapFollower) must hold what build_map gives at every step.
#include <gtest/gtest.h>

#include <map>
#include <optional>
#include <random>

#include "control/agent_map.hpp"
#include "control/map_hub.hpp"

namespace tern::control {
namespace {

AddressPlan plan() {
  return AddressPlan{*IpPrefix::parse("100.64.0.0/10"), *IpPrefix::parse("fd00:1:2::/48")};
}

// The reference: one full map per stream, rebuilt and diffed on every publish.
class SlowHub {
 public:
  explicit SlowHub(std::vector<RelayConfig> relays) : relays_(std::move(relays)) {}
  std::string subscribe(uint64_t stream, const PeerRecord& self, const std::vector<PeerRecord>& all,
                        int64_t revision, int64_t now) {
    NetworkMap map = build_map(all, self, plan(), relays_, revision, now);
    std::string message = map_json(map).dump();
    subs_[stream] = std::move(map);
    return message;
  }
  void unsubscribe(uint64_t stream) { subs_.erase(stream); }
  std::vector<MapPush> publish(const std::vector<PeerRecord>& all, int64_t revision, int64_t now) {
    std::vector<MapPush> out;
    for (auto it = subs_.begin(); it != subs_.end();) {
      const PeerRecord* self = nullptr;
      for (const auto& p : all) {
        if (!self && p.public_key == it->second.self.public_key) self = &p;
      }
      if (!self) {
        out.push_back(MapPush{it->first, {own_text(R"({"type":"removed"})")}, true});
        it = subs_.erase(it);
        continue;
      }
      NetworkMap next = build_map(all, *self, plan(), relays_, revision, now);
      const MapDelta delta = diff_maps(it->second, next);
      if (!delta.empty())
        out.push_back(MapPush{it->first, {own_text(delta_json(delta).dump())}, false});
      it->second = std::move(next);
      ++it;
    }
    return out;
  }

 private:
  std::vector<RelayConfig> relays_;
  std::map<uint64_t, NetworkMap> subs_;
};

struct World {
  std::mt19937 rng;
  std::vector<PeerRecord> all;
  uint32_t next_number = 1;

  explicit World(uint32_t seed) : rng(seed) {}
  size_t pick(size_t n) { return std::uniform_int_distribution<size_t>(0, n - 1)(rng); }
  PeerRecord fresh() {
    PeerRecord r;
    r.number = next_number++;
    r.id = r.number;
    // Keys that share long prefixes, so ordering is decided late.
    r.public_key.fill(static_cast<uint8_t>(pick(3)));
    r.public_key[31] = static_cast<uint8_t>(r.number);
    r.public_key[30] = static_cast<uint8_t>(r.number >> 8);
    r.name = "p" + std::to_string(r.number);
    r.ipv4 = v4_at(plan().v4, r.number);
    r.ipv6 = v6_at(plan().v6, r.number);
    return r;
  }
  // One store change: a peer joins, leaves, reports endpoints, is renamed or retagged.
  void change() {
    const size_t what = all.empty() ? 0 : pick(6);
    if (what == 0 || all.size() < 3) {
      all.insert(all.begin() + static_cast<ptrdiff_t>(pick(all.size() + 1)), fresh());
    } else if (what == 1) {
      all.erase(all.begin() + static_cast<ptrdiff_t>(pick(all.size())));
    } else if (what <= 3) {
      all[pick(all.size())].endpoints = {
          Endpoint{*IpAddress::parse("192.0.2." + std::to_string(pick(4) + 1)),
                   static_cast<uint16_t>(51820 + pick(2))}};
    } else if (what == 4) {
      all[pick(all.size())].name = "n" + std::to_string(pick(3));
    } else {
      auto& tags = all[pick(all.size())].tags;
      if (tags.empty())
        tags = {"t" + std::to_string(pick(2))};
      else
        tags.clear();
    }
  }
};

void run_history(uint32_t seed, const std::vector<RelayConfig>& relays) {
  World w(seed);
  for (int i = 0; i < 6; ++i)
    w.all.push_back(w.fresh());
  MapHub hub(relays);
  SlowHub slow(relays);
  std::map<uint64_t, MapFollower> agents;
  int64_t revision = 1;
  int64_t now = 1'700'000'000;
  uint64_t next_stream = 1;

  auto check_agents = [&](const std::string& where) {
    for (const auto& [stream, agent] : agents) {
      ASSERT_TRUE(agent.map()) << where;
      const PeerRecord* self = nullptr;
      for (const auto& p : w.all) {
        if (!self && p.public_key == agent.map()->self.public_key) self = &p;
      }
      ASSERT_NE(self, nullptr) << where << " stream " << stream;
      NetworkMap want = build_map(w.all, *self, plan(), relays, revision, now);
      // A revision that changed nothing of this agent's map sends nothing: it lags.
      EXPECT_LE(agent.map()->revision, revision);
      want.revision = agent.map()->revision;
      ASSERT_EQ(*agent.map(), want) << where << " stream " << stream;
    }
  };

  for (int step = 0; step < 300; ++step) {
    const std::string where = "seed " + std::to_string(seed) + " step " + std::to_string(step);
    const size_t op = w.pick(10);
    if (op < 3) {  // the store moves; publish may come later
      w.change();
      ++revision;
    } else if (op < 5 && !w.all.empty()) {  // a stream opens (maybe twice for one peer)
      const PeerRecord self = w.all[w.pick(w.all.size())];
      const uint64_t stream = next_stream++;
      const std::string a = joined(hub.subscribe(stream, self, w.all, plan(), revision, now));
      const std::string b = slow.subscribe(stream, self, w.all, revision, now);
      ASSERT_EQ(a, b) << where;
      MapFollower agent(self.public_key);
      const auto u = agent.on_message(a);
      ASSERT_TRUE(u.error.empty()) << where << ": " << u.error;
      agents.emplace(stream, std::move(agent));
    } else if (op == 5 && !agents.empty()) {
      auto it = std::next(agents.begin(), static_cast<ptrdiff_t>(w.pick(agents.size())));
      hub.unsubscribe(it->first);
      slow.unsubscribe(it->first);
      agents.erase(it);
    } else if (op == 6) {
      now += static_cast<int64_t>(w.pick(2000));  // relay credentials may roll over
    } else {
      const auto got = hub.publish(w.all, plan(), revision, now);
      const auto want = slow.publish(w.all, revision, now);
      ASSERT_EQ(got.size(), want.size()) << where;
      for (size_t i = 0; i < got.size(); ++i) {
        ASSERT_EQ(got[i].stream, want[i].stream) << where;
        ASSERT_EQ(joined(got[i].message), joined(want[i].message)) << where;
        ASSERT_EQ(got[i].close, want[i].close) << where;
        auto agent = agents.find(got[i].stream);
        ASSERT_NE(agent, agents.end()) << where;
        const auto u = agent->second.on_message(joined(got[i].message));
        ASSERT_TRUE(u.error.empty()) << where << ": " << u.error;
        ASSERT_FALSE(u.resync) << where;
        ASSERT_EQ(u.removed, got[i].close) << where;
        if (u.removed) agents.erase(agent);
      }
      ASSERT_EQ(hub.size(), agents.size()) << where;
      check_agents(where);
    }
  }
}

TEST(MapHubReference, RandomHistoriesMatchTheFullMapPerStream) {
  for (uint32_t seed = 1; seed <= 16; ++seed) {
    run_history(seed, {});
    if (testing::Test::HasFatalFailure()) return;
  }
}

TEST(MapHubReference, RandomHistoriesWithRelays) {
  const std::vector<RelayConfig> relays = {{"turn:192.0.2.1:3478", "s", 3600},
                                           {"turns:relay.example.org:5349", "t", 1200}};
  for (uint32_t seed = 100; seed < 112; ++seed) {
    run_history(seed, relays);
    if (testing::Test::HasFatalFailure()) return;
  }
}

}  // namespace
}  // namespace tern::control

// Maps to WireGuard peers: the planned changes against a device rebuilt from scratch, and
// the promise that matters to users: a peer whose record did not change keeps its session.
#include "control/agent_map.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <random>

#include <nlohmann/json.hpp>

#include "crypto/key_encoding.hpp"
#include "crypto/x25519.hpp"

namespace tern::control {
namespace {

const IpPrefix kV4 = *IpPrefix::parse("100.64.0.0/10");
const IpPrefix kV6 = *IpPrefix::parse("fd00:1:2::/48");

MapPeer map_peer(const crypto::Key& key, uint32_t n, std::vector<Endpoint> eps = {}) {
  MapPeer p;
  p.public_key = key;
  p.ipv4 = v4_at(kV4, n);
  p.ipv6 = v6_at(kV6, n);
  p.endpoints = std::move(eps);
  return p;
}

NetworkMap make_map(const MapPeer& self, std::vector<MapPeer> peers, int64_t revision) {
  NetworkMap m;
  m.revision = revision;
  m.self = self;
  m.v4 = kV4;
  m.v6 = kV6;
  std::sort(peers.begin(), peers.end(),
            [](const auto& a, const auto& b) { return a.public_key < b.public_key; });
  m.peers = std::move(peers);
  return m;
}

// The slow reference: what a device built from `m` alone holds, peer by peer.
struct DevicePeer {
  std::vector<IpPrefix> allowed;
  std::optional<Endpoint> endpoint;
  bool operator==(const DevicePeer&) const = default;
};
std::map<crypto::Key, DevicePeer> snapshot(const core::Device& d) {
  std::map<crypto::Key, DevicePeer> out;
  for (auto id : d.peer_ids()) {
    auto info = d.peer_info(id);
    auto allowed = info->allowed_ips;
    std::sort(allowed.begin(), allowed.end());
    out[info->public_key] = DevicePeer{allowed, info->endpoint};
  }
  return out;
}

TEST(AgentMap, PlannedChangesEndWhereARebuildWould) {
  std::mt19937 rng(1);
  const crypto::Key own_priv = crypto::generate_private_key();
  const MapPeer self = map_peer(crypto::public_key_from_private(own_priv), 1);
  std::vector<crypto::Key> keys;
  for (int i = 0; i < 12; ++i)
    keys.push_back(crypto::public_key_from_private(crypto::generate_private_key()));

  core::Device incremental(own_priv);
  std::optional<NetworkMap> current;
  const Instant now = instant_from_ns(1'000'000'000);
  for (int round = 0; round < 200; ++round) {
    std::vector<MapPeer> peers;
    for (size_t i = 0; i < keys.size(); ++i) {
      if (rng() % 3 == 0) continue;
      std::vector<Endpoint> eps;
      if (rng() % 2)
        eps.push_back(*Endpoint::parse("192.0.2." + std::to_string(rng() % 3 + 1) + ":51820"));
      peers.push_back(map_peer(keys[i], static_cast<uint32_t>(2 + i + (rng() % 2) * 100), eps));
    }
    const NetworkMap next = make_map(self, peers, round);
    const auto changes = plan_changes(current ? &*current : nullptr, next);
    apply_changes(incremental, changes, now);

    core::Device rebuilt(own_priv);
    apply_changes(rebuilt, plan_changes(nullptr, next), now);
    auto got = snapshot(incremental);
    auto want = snapshot(rebuilt);
    // Endpoints follow the map only when the map's choice moves; here nothing roams, so
    // both agree whenever the map names one.
    for (auto& [k, p] : want) {
      if (!p.endpoint && got.count(k)) p.endpoint = got[k].endpoint;
    }
    ASSERT_EQ(got, want) << "round " << round;
    current = next;
  }
}

TEST(AgentMap, UnchangedPeersAreNotTouched) {
  crypto::Key a{}, b{}, c{};
  a.fill(1), b.fill(2), c.fill(3);
  const MapPeer self = map_peer(a, 1);
  const auto ep = *Endpoint::parse("192.0.2.2:51820");
  const NetworkMap m1 = make_map(self, {map_peer(b, 2, {ep}), map_peer(c, 3)}, 1);
  NetworkMap m2 = make_map(self, {map_peer(b, 2, {ep}), map_peer(c, 3)}, 2);
  m2.peers[0].name = "renamed";  // nothing the device holds
  m2.peers[0].tags = {"x"};
  EXPECT_TRUE(plan_changes(&m1, m2).empty());

  // c reports a second endpoint after its first: the choice stays, nothing to do.
  NetworkMap m3 = make_map(self, {map_peer(b, 2, {ep}), map_peer(c, 3, {ep})}, 3);
  auto changes = plan_changes(&m2, m3);
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].kind, PeerChange::Kind::kUpdate);
  EXPECT_EQ(changes[0].key, c);
  EXPECT_EQ(changes[0].endpoint, ep);
  EXPECT_FALSE(changes[0].allowed_ips);
  NetworkMap m4 = m3;
  m4.peers[1].endpoints.push_back(*Endpoint::parse("198.51.100.3:51820"));
  EXPECT_TRUE(plan_changes(&m3, m4).empty());
}

// Two devices on a simulated wire: the agent (A, following maps) and peer B, with a session.
struct Wire {
  std::vector<std::pair<Endpoint, std::vector<uint8_t>>> to_b, to_a;
};

std::vector<uint8_t> ping(const IpAddress& src, const IpAddress& dst) {
  std::vector<uint8_t> p(28, 0);
  p[0] = 0x45;
  p[3] = 28;
  p[8] = 64;
  p[9] = 1;
  std::memcpy(&p[12], src.data(), 4);
  std::memcpy(&p[16], dst.data(), 4);
  return p;
}

TEST(AgentMap, ASessionSurvivesOthersJoiningAndLeaving) {
  const crypto::Key a_priv = crypto::generate_private_key(),
                    b_priv = crypto::generate_private_key();
  const crypto::Key a_pub = crypto::public_key_from_private(a_priv);
  const crypto::Key b_pub = crypto::public_key_from_private(b_priv);
  const Endpoint a_addr = *Endpoint::parse("192.0.2.1:51820");
  const Endpoint b_addr = *Endpoint::parse("192.0.2.2:51820");
  Instant now = instant_from_ns(10'000'000'000);
  core::Device a(a_priv), b(b_priv);
  for (auto* d : {&a, &b})
    d->set_wall_clock(WallTime{1'700'000'000'000'000'000}, now);
  auto pb = *b.add_peer(a_pub);
  b.add_allowed_ip(pb, IpPrefix{v4_at(kV4, 1), 32});
  b.set_endpoint(pb, a_addr);

  MapFollower follower(a_pub);
  const MapPeer self = map_peer(a_pub, 1);
  auto u = follower.on_map(make_map(self, {map_peer(b_pub, 2, {b_addr})}, 1));
  ASSERT_TRUE(u.error.empty());
  EXPECT_TRUE(u.map_changed);
  apply_changes(a, u.changes, now);

  // Pump both devices until the wire is quiet; A's datagrams go to B and back.
  auto pump = [&] {
    for (int i = 0; i < 50; ++i) {
      bool moved = false;
      while (auto t = a.poll_transmit(now)) {
        std::vector<uint8_t> d(t->data.begin(), t->data.end());
        if (t->to == b_addr) (void)b.receive_datagram(a_addr, d, now), moved = true;
      }
      while (auto t = b.poll_transmit(now)) {
        std::vector<uint8_t> d(t->data.begin(), t->data.end());
        if (t->to == a_addr) (void)a.receive_datagram(b_addr, d, now), moved = true;
      }
      if (!moved) return;
    }
  };
  pump();
  const auto a_to_b = *a.find_peer(b_pub);
  const auto first_hs = a.peer_info(a_to_b)->last_handshake;
  ASSERT_TRUE(first_hs);  // the keepalive turned on by the map made the handshake
  const int64_t first = first_hs->unix_ns;
  // Later, a third peer joins, and the map changes again (C leaves, B renamed).
  now += std::chrono::seconds(30);
  crypto::Key c_pub = crypto::public_key_from_private(crypto::generate_private_key());
  MapPeer b_renamed = map_peer(b_pub, 2, {b_addr});
  b_renamed.name = "b";
  const std::string delta =
      R"({"type":"delta","from":1,"to":2,"upserted":[)" +
      peer_json(map_peer(c_pub, 3, {*Endpoint::parse("192.0.2.3:51820")})).dump() + "," +
      peer_json(b_renamed).dump() + R"(],"removed":[]})";
  u = follower.on_message(delta);
  ASSERT_TRUE(u.error.empty()) << u.error;
  ASSERT_EQ(u.changes.size(), 1u);
  EXPECT_EQ(u.changes[0].kind, PeerChange::Kind::kAdd);
  apply_changes(a, u.changes, now);

  // A packet to B leaves at once on the old session: no new handshake, same peer id.
  const auto pkt = ping(v4_at(kV4, 1), v4_at(kV4, 2));
  std::vector<uint8_t> buf(core::kSendHeadroom + pkt.size() + core::kSendTailroom);
  std::memcpy(buf.data() + core::kSendHeadroom, pkt.data(), pkt.size());
  auto sent = a.send_packet(buf, pkt.size(), now);
  EXPECT_EQ(sent.kind, core::SendResult::Kind::kSend);
  EXPECT_EQ(sent.to, b_addr);
  EXPECT_EQ(a.find_peer(b_pub), a_to_b);
  EXPECT_EQ(a.peer_info(a_to_b)->last_handshake->unix_ns, first);
  std::vector<uint8_t> datagram(buf.begin(), buf.begin() + static_cast<long>(sent.length));
  EXPECT_EQ(b.receive_datagram(a_addr, datagram, now).kind, core::ReceiveResult::Kind::kDeliver);

  // C leaves: B's session is still the same one.
  u = follower.on_message(R"({"type":"delta","from":2,"to":3,"upserted":[],"removed":[")" +
                          crypto::key_to_base64(c_pub) + R"("]})");
  ASSERT_EQ(u.changes.size(), 1u);
  EXPECT_EQ(u.changes[0].kind, PeerChange::Kind::kRemove);
  apply_changes(a, u.changes, now);
  EXPECT_FALSE(a.find_peer(c_pub));
  EXPECT_EQ(a.peer_info(a_to_b)->last_handshake->unix_ns, first);

  // A delta that skips a revision asks for a full map; "removed" ends following.
  EXPECT_TRUE(
      follower.on_message(R"({"type":"delta","from":2,"to":8,"upserted":[],"removed":[]})").resync);
  EXPECT_TRUE(follower.on_message(R"({"type":"removed"})").removed);
  EXPECT_FALSE(follower.on_message("not json").error.empty());
  EXPECT_EQ(follower.map()->revision, 3);
}

}  // namespace
}  // namespace tern::control

#include "control/network_map.hpp"

#include <algorithm>

#include "core/turn_credentials.hpp"
#include "crypto/key_encoding.hpp"

namespace tern::control {
namespace {

bool by_key(const MapPeer& a, const MapPeer& b) {
  return a.public_key < b.public_key;
}

}  // namespace

MapPeer map_peer(const PeerRecord& r) {
  return MapPeer{r.public_key, r.name, r.ipv4, r.ipv6, r.endpoints, r.tags};
}

std::vector<MapRelay> map_relays(const std::vector<RelayConfig>& relays, const crypto::Key& self,
                                 int64_t now_unix) {
  std::vector<MapRelay> out;
  const std::string name = crypto::key_to_base64(self);
  for (const auto& relay : relays) {
    const int64_t expiry = credential_expiry(now_unix, relay.credential_ttl_s);
    auto c = core::rest_credentials(relay.secret, name, expiry);
    out.push_back(MapRelay{relay.url, std::move(c.username), std::move(c.password), expiry});
  }
  return out;
}

nlohmann::json relay_json(const MapRelay& r) {
  return {{"url", r.url},
          {"username", r.username},
          {"password", r.password},
          {"expires", r.expires_unix}};
}

int64_t credential_expiry(int64_t now_unix, int64_t ttl_s) {
  const int64_t half = std::max<int64_t>(ttl_s / 2, 1);
  return (now_unix / half + 3) * half;
}

NetworkMap build_map(const std::vector<PeerRecord>& all, const PeerRecord& self,
                     const AddressPlan& plan, const std::vector<RelayConfig>& relays,
                     int64_t revision, int64_t now_unix) {
  NetworkMap m;
  m.revision = revision;
  m.self = map_peer(self);
  m.v4 = plan.v4;
  m.v6 = plan.v6;
  for (const auto& r : all) {
    if (r.public_key != self.public_key) m.peers.push_back(map_peer(r));
  }
  std::sort(m.peers.begin(), m.peers.end(), by_key);
  m.relays = map_relays(relays, self.public_key, now_unix);
  return m;
}

MapDelta diff_maps(const NetworkMap& from, const NetworkMap& to) {
  MapDelta d;
  d.from_revision = from.revision;
  d.to_revision = to.revision;
  if (!(from.self == to.self)) d.self = to.self;
  if (from.relays != to.relays) d.relays = to.relays;
  // Both lists are sorted by key: one merge pass.
  size_t i = 0, j = 0;
  while (i < from.peers.size() || j < to.peers.size()) {
    if (j == to.peers.size() ||
        (i < from.peers.size() && from.peers[i].public_key < to.peers[j].public_key)) {
      d.removed.push_back(from.peers[i++].public_key);
    } else if (i == from.peers.size() || to.peers[j].public_key < from.peers[i].public_key) {
      d.upserted.push_back(to.peers[j++]);
    } else {
      if (!(from.peers[i] == to.peers[j])) d.upserted.push_back(to.peers[j]);
      ++i;
      ++j;
    }
  }
  return d;
}

NetworkMap apply_delta(NetworkMap map, const MapDelta& delta) {
  map.revision = delta.to_revision;
  if (delta.self) map.self = *delta.self;
  if (delta.relays) map.relays = *delta.relays;
  std::erase_if(map.peers, [&](const MapPeer& p) {
    return std::find(delta.removed.begin(), delta.removed.end(), p.public_key) !=
           delta.removed.end();
  });
  for (const auto& u : delta.upserted) {
    auto it = std::lower_bound(map.peers.begin(), map.peers.end(), u, by_key);
    if (it != map.peers.end() && it->public_key == u.public_key) {
      *it = u;
    } else {
      map.peers.insert(it, u);
    }
  }
  return map;
}

nlohmann::json peer_json(const MapPeer& p) {
  nlohmann::json endpoints = nlohmann::json::array();
  for (const auto& e : p.endpoints)
    endpoints.push_back(e.to_string());
  return {{"public_key", crypto::key_to_base64(p.public_key)},
          {"name", p.name},
          {"ipv4", p.ipv4.to_string()},
          {"ipv6", p.ipv6.to_string()},
          {"endpoints", std::move(endpoints)},
          {"tags", p.tags}};
}

nlohmann::json map_json(const NetworkMap& m) {
  nlohmann::json peers = nlohmann::json::array();
  for (const auto& p : m.peers)
    peers.push_back(peer_json(p));
  nlohmann::json relays = nlohmann::json::array();
  for (const auto& r : m.relays)
    relays.push_back(relay_json(r));
  return {{"type", "map"},
          {"revision", m.revision},
          {"self", peer_json(m.self)},
          {"v4", m.v4.to_string()},
          {"v6", m.v6.to_string()},
          {"peers", std::move(peers)},
          {"relays", std::move(relays)}};
}

nlohmann::json delta_json(const MapDelta& d) {
  nlohmann::json j = {{"type", "delta"}, {"from", d.from_revision}, {"to", d.to_revision}};
  if (d.self) j["self"] = peer_json(*d.self);
  nlohmann::json up = nlohmann::json::array();
  for (const auto& p : d.upserted)
    up.push_back(peer_json(p));
  j["upserted"] = std::move(up);
  nlohmann::json removed = nlohmann::json::array();
  for (const auto& k : d.removed)
    removed.push_back(crypto::key_to_base64(k));
  j["removed"] = std::move(removed);
  if (d.relays) {
    nlohmann::json relays = nlohmann::json::array();
    for (const auto& r : *d.relays)
      relays.push_back(relay_json(r));
    j["relays"] = std::move(relays);
  }
  return j;
}

}  // namespace tern::control

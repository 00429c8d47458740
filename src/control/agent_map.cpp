#include "control/agent_map.hpp"

#include <variant>

#include "control/agent_messages.hpp"

namespace tern::control {

std::optional<Endpoint> chosen_endpoint(const MapPeer& peer) {
  if (peer.endpoints.empty()) return std::nullopt;
  return peer.endpoints.front();
}

std::vector<IpPrefix> peer_allowed_ips(const MapPeer& peer) {
  std::vector<IpPrefix> out;
  if (peer.ipv4.is_v4() && !peer.ipv4.is_unspecified()) out.push_back(IpPrefix{peer.ipv4, 32});
  if (peer.ipv6.is_v6() && !peer.ipv6.is_unspecified()) out.push_back(IpPrefix{peer.ipv6, 128});
  return out;
}

std::vector<PeerChange> plan_changes(const NetworkMap* from, const NetworkMap& to) {
  std::vector<PeerChange> removes, updates, adds;
  static const std::vector<MapPeer> kNone;
  const auto& old_peers = from ? from->peers : kNone;
  // Both lists are sorted by key (parse_map and apply_delta keep them so): one merge pass.
  size_t i = 0, j = 0;
  while (i < old_peers.size() || j < to.peers.size()) {
    if (j == to.peers.size() ||
        (i < old_peers.size() && old_peers[i].public_key < to.peers[j].public_key)) {
      removes.push_back(PeerChange{PeerChange::Kind::kRemove, old_peers[i++].public_key, {}, {}});
    } else if (i == old_peers.size() || to.peers[j].public_key < old_peers[i].public_key) {
      const MapPeer& p = to.peers[j++];
      adds.push_back(PeerChange{PeerChange::Kind::kAdd, p.public_key, chosen_endpoint(p),
                                peer_allowed_ips(p)});
    } else {
      const MapPeer& a = old_peers[i++];
      const MapPeer& b = to.peers[j++];
      PeerChange c{PeerChange::Kind::kUpdate, b.public_key, {}, {}};
      // Only a moved choice is applied: an endpoint roaming learned stays otherwise.
      if (chosen_endpoint(a) != chosen_endpoint(b)) c.endpoint = chosen_endpoint(b);
      if (peer_allowed_ips(a) != peer_allowed_ips(b)) c.allowed_ips = peer_allowed_ips(b);
      if (c.endpoint || c.allowed_ips) updates.push_back(std::move(c));
    }
  }
  std::vector<PeerChange> out = std::move(removes);
  out.insert(out.end(), updates.begin(), updates.end());
  out.insert(out.end(), adds.begin(), adds.end());
  return out;
}

void apply_changes(core::Device& device, const std::vector<PeerChange>& changes, Instant now) {
  for (const auto& c : changes) {
    switch (c.kind) {
      case PeerChange::Kind::kRemove:
        if (auto id = device.find_peer(c.key)) device.remove_peer(*id);
        break;
      case PeerChange::Kind::kAdd:
      case PeerChange::Kind::kUpdate: {
        const bool existed = device.find_peer(c.key).has_value();
        auto id = device.add_peer(c.key);
        if (!id) break;  // our own key: never a peer of ourselves
        if (c.allowed_ips) {
          device.clear_allowed_ips(*id);
          for (const auto& prefix : *c.allowed_ips)
            device.add_allowed_ip(*id, prefix);
        }
        if (c.endpoint) device.set_endpoint(*id, *c.endpoint);
        if (!existed) device.set_persistent_keepalive(*id, kMapPeerKeepalive, now);
        break;
      }
    }
  }
}

MapFollower::Update MapFollower::on_map(NetworkMap map) {
  Update u;
  if (map.self.public_key != own_key_) {
    u.error = "the map is for another peer";
    return u;
  }
  u.changes = plan_changes(map_ ? &*map_ : nullptr, map);
  u.map_changed = !map_ || !(*map_ == map);
  map_ = std::move(map);
  return u;
}

MapFollower::Update MapFollower::on_message(std::string_view text) {
  auto message = parse_stream_message(text);
  if (!message) {
    Update u;
    u.error = message.error().message;
    return u;
  }
  if (auto* full = std::get_if<NetworkMap>(&*message)) return on_map(std::move(*full));
  Update u;
  if (std::holds_alternative<StreamRemoved>(*message)) {
    u.removed = true;
    return u;
  }
  const auto& delta = std::get<MapDelta>(*message);
  // MapHub sends nothing for revisions that left this agent's map as it was, so `from` may
  // be ahead of ours; behind it, the delta would undo what we have.
  if (!map_ || delta.from_revision < map_->revision || delta.to_revision < delta.from_revision) {
    u.resync = true;
    return u;
  }
  NetworkMap next = apply_delta(*map_, delta);
  if (next.self.public_key != own_key_) {
    u.error = "the delta moves this agent's record to another key";
    return u;
  }
  u.changes = plan_changes(&*map_, next);
  u.map_changed = true;
  map_ = std::move(next);
  return u;
}

}  // namespace tern::control

// The agent's network map turned into WireGuard peers, sans-I/O. plan_changes() compares
// the map the device runs on with a new one and lists only what differs: a peer that joined
// (add, its /32 and /128, its endpoint), one that left (remove), one whose addresses or
// reported endpoints moved (update). A peer whose record did not change is not touched, so
// its session, keys and timers live on. MapFollower keeps the current map across stream
// messages ("map", "delta", "removed") and says what to apply.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/ip.hpp"
#include "base/time.hpp"
#include "control/network_map.hpp"
#include "core/device.hpp"
#include "crypto/key.hpp"

namespace tern::control {

// Keepalives every 25 s keep NAT mappings open and let a peer behind NAT be reached: its
// keepalive teaches the others its public address (WireGuard roaming).
inline constexpr uint16_t kMapPeerKeepalive = 25;

struct PeerChange {
  enum class Kind : uint8_t { kAdd, kRemove, kUpdate };
  Kind kind = Kind::kAdd;
  crypto::Key key{};
  // kAdd/kUpdate: the endpoint to set (kUpdate: only when the chosen one moved).
  std::optional<Endpoint> endpoint;
  // kAdd: the allowed IPs; kUpdate: the new list when it changed (replaces the old).
  std::optional<std::vector<IpPrefix>> allowed_ips;
  bool operator==(const PeerChange&) const = default;
};

// The endpoint the device uses for a peer: the first it reported (the server keeps the
// agent's order), none when it reported none (roaming learns it when the peer speaks).
[[nodiscard]] std::optional<Endpoint> chosen_endpoint(const MapPeer& peer);
// The peer's overlay addresses as host routes: its IPv4 /32 and IPv6 /128.
[[nodiscard]] std::vector<IpPrefix> peer_allowed_ips(const MapPeer& peer);

// Removals first, then updates, then additions. `from` null: everything is an addition.
[[nodiscard]] std::vector<PeerChange> plan_changes(const NetworkMap* from, const NetworkMap& to);
void apply_changes(core::Device& device, const std::vector<PeerChange>& changes, Instant now);

class MapFollower {
 public:
  explicit MapFollower(const crypto::Key& own_key, std::optional<NetworkMap> cached = {})
      : own_key_(own_key), map_(std::move(cached)) {}

  struct Update {
    std::vector<PeerChange> changes;
    bool map_changed = false;  // persist the map
    bool removed = false;      // this peer left the network: stop following
    bool resync = false;       // a delta that does not follow our map: reconnect for a full one
    std::string error;         // a message that made no sense (the map is unchanged)
  };
  // A full map (from registration or the stream's first message).
  [[nodiscard]] Update on_map(NetworkMap map);
  // A stream text message.
  [[nodiscard]] Update on_message(std::string_view text);

  const std::optional<NetworkMap>& map() const { return map_; }

 private:
  crypto::Key own_key_;
  std::optional<NetworkMap> map_;
};

}  // namespace tern::control

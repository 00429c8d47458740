// The network map an agent receives: its own record, every other peer (key,
// overlay addresses, reported endpoints, tags) and the relays with TURN REST
// credentials. Built from the store's records by a pure function; a change is sent as
// the difference of two maps (diff_maps), and apply_delta rebuilds the new map from the
// old one, so an agent that missed nothing ends where a full map would put it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/ip.hpp"
#include "control/address_pool.hpp"
#include "control/store.hpp"
#include "crypto/key.hpp"

namespace tern::control {

struct RelayConfig {
  std::string url;     // "turn:relay.example.org:3478"
  std::string secret;  // shared with the relays (coturn's static-auth-secret)
  int64_t credential_ttl_s = 24 * 3600;
};

struct MapPeer {
  crypto::Key public_key{};
  std::string name;
  IpAddress ipv4;
  IpAddress ipv6;
  std::vector<Endpoint> endpoints;
  std::vector<std::string> tags;
  bool operator==(const MapPeer&) const = default;
};

struct MapRelay {
  std::string url;
  std::string username;  // "expiry:peer"
  std::string password;  // base64(HMAC-SHA1(secret, username))
  int64_t expires_unix = 0;
  bool operator==(const MapRelay&) const = default;
};

struct NetworkMap {
  int64_t revision = 0;
  MapPeer self;
  IpPrefix v4;
  IpPrefix v6;
  std::vector<MapPeer> peers;  // ordered by public key
  std::vector<MapRelay> relays;
  bool operator==(const NetworkMap&) const = default;
};

struct MapDelta {
  int64_t from_revision = 0;
  int64_t to_revision = 0;
  std::optional<MapPeer> self;  // when the agent's own record changed
  std::vector<MapPeer> upserted;
  std::vector<crypto::Key> removed;
  std::optional<std::vector<MapRelay>> relays;  // the whole list, when it changed
  bool empty() const { return !self && upserted.empty() && removed.empty() && !relays; }
};

// When credentials made at `now_unix` expire: quantised to half the TTL, so maps built
// within one half-period carry identical credentials (no delta), and fresh ones are pushed
// while the old still have at least a TTL left.
[[nodiscard]] int64_t credential_expiry(int64_t now_unix, int64_t ttl_s);

// One store record as a map entry; the relays with the credentials of `self` at `now_unix`.
[[nodiscard]] MapPeer map_peer(const PeerRecord& r);
[[nodiscard]] std::vector<MapRelay> map_relays(const std::vector<RelayConfig>& relays,
                                               const crypto::Key& self, int64_t now_unix);

[[nodiscard]] NetworkMap build_map(const std::vector<PeerRecord>& all, const PeerRecord& self,
                                   const AddressPlan& plan, const std::vector<RelayConfig>& relays,
                                   int64_t revision, int64_t now_unix);
[[nodiscard]] MapDelta diff_maps(const NetworkMap& from, const NetworkMap& to);
[[nodiscard]] NetworkMap apply_delta(NetworkMap map, const MapDelta& delta);

[[nodiscard]] nlohmann::json peer_json(const MapPeer& p);
[[nodiscard]] nlohmann::json relay_json(const MapRelay& r);
[[nodiscard]] nlohmann::json map_json(const NetworkMap& m);
[[nodiscard]] nlohmann::json delta_json(const MapDelta& d);

}  // namespace tern::control

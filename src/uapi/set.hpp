// The "set=1" operation of the WireGuard UAPI: the key=value lines `wg set` and
// `wg setconf` send, parsed into one change request. Device keys come first;
// each public_key line starts a peer and the keys after it apply to that peer.
//
//   set=1
//   private_key=<64 hex>            all zeros: remove the private key
//   listen_port=51820
//   fwmark=0
//   replace_peers=true
//   public_key=<64 hex>
//   preshared_key=<64 hex>          all zeros: no preshared key
//   endpoint=192.0.2.1:51820        or [2001:db8::1]:51820; numeric only
//   persistent_keepalive_interval=25
//   replace_allowed_ips=true
//   allowed_ip=10.0.0.2/32          "-10.0.0.2/32" removes one (wg 1.0.20250521 and later)
//   (empty line)
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "base/ip.hpp"
#include "crypto/key.hpp"
#include "uapi/error.hpp"

namespace tern::uapi {

struct PeerChange {
  crypto::Key public_key{};
  bool remove = false;
  bool update_only = false;  // change the peer only if it exists; never create it
  bool replace_allowed_ips = false;
  std::optional<crypto::Key> preshared_key;  // all zeros: clear it
  std::optional<Endpoint> endpoint;
  std::optional<uint16_t> persistent_keepalive;  // seconds; 0 turns it off
  std::vector<IpPrefix> allowed_ips;             // as sent; host bits may be set
  // Applied after allowed_ips; wg sends a prefix in only one of the two lists.
  std::vector<IpPrefix> removed_allowed_ips;
};

struct SetRequest {
  std::optional<crypto::Key> private_key;  // never all zeros: that is remove_private_key
  bool remove_private_key = false;
  std::optional<uint16_t> listen_port;
  std::optional<uint32_t> fwmark;  // 0 clears it
  bool replace_peers = false;
  std::vector<PeerChange> peers;
};

// `body`: the lines after "set=1", each ending in '\n', without the final empty line.
// Nothing may be applied when this fails: the request is all or nothing.
[[nodiscard]] UapiResult<SetRequest> parse_set(std::string_view body);

}  // namespace tern::uapi

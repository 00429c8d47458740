// CreatePermission (RFC 8656 §10) and ChannelBind (§12): what the client may
// reach through its allocation. Every peer address is checked against the
// allocation's family (443) and the peer policy (403) before anything is
// installed, so a request either takes effect whole or not at all.
#include <fmt/format.h>

#include "relay/server.hpp"
#include "wire/channel_data.hpp"
#include "wire/stun_attributes.hpp"

namespace tern::relay {

std::optional<Transmit> RelayServer::refuse_peer(const FiveTuple& t, const wire::StunMessage& m,
                                                 const Allocation& a, const IpAddress& peer,
                                                 Signing s) {
  if (peer.family() != a.family()) {
    return error(t, m, wire::stun_error::kPeerAddressFamilyMismatch, "Peer Address Family Mismatch",
                 RelayDrop::kPeerFamilyMismatch, s);
  }
  if (const auto why = policy_.refusal(peer)) {
    // The class is named so an operator reading a client's log knows which
    // allow-list entry would change the answer; the address itself is the client's own.
    const auto reason =
        fmt::format("Forbidden: relaying to {} addresses is not allowed", peer_class_name(*why));
    return error(t, m, wire::stun_error::kForbidden, reason, RelayDrop::kForbiddenPeer, s);
  }
  return std::nullopt;
}

std::optional<Transmit> RelayServer::create_permission(const FiveTuple& t,
                                                       const wire::StunMessage& m,
                                                       const AuthResult& auth, Instant now) {
  const Signing s{&auth.key, auth.sha256};
  std::optional<Transmit> out;
  Allocation* a = owned_allocation(t, m, auth, now, out);
  if (!a) return out;

  peers_.clear();
  for (const auto& attr : m) {
    if (!attr.is(wire::StunAttr::kXorPeerAddress)) continue;
    const auto peer = wire::decode_xor_address(attr.value, m.transaction_id());
    if (!peer) {
      return error(t, m, wire::stun_error::kBadRequest, "Malformed XOR-PEER-ADDRESS",
                   RelayDrop::kMalformed, s);
    }
    if (peers_.size() >= config_.max_permissions) {
      return error(t, m, wire::stun_error::kInsufficientCapacity,
                   "Insufficient Capacity: too many permissions", RelayDrop::kCapacity, s);
    }
    if (auto refused = refuse_peer(t, m, *a, peer->address, s)) return refused;
    peers_.push_back(peer->address);
  }
  if (peers_.empty()) {
    return error(t, m, wire::stun_error::kBadRequest, "Missing XOR-PEER-ADDRESS",
                 RelayDrop::kMalformed, s);
  }
  if (!a->permit(peers_, now, config_.max_permissions)) {
    return error(t, m, wire::stun_error::kInsufficientCapacity,
                 "Insufficient Capacity: too many permissions", RelayDrop::kCapacity, s);
  }
  schedule_sweep(now + kPermissionLifetime);
  return success(t, m, s);
}

std::optional<Transmit> RelayServer::channel_bind(const FiveTuple& t, const wire::StunMessage& m,
                                                  const AuthResult& auth, Instant now) {
  const Signing s{&auth.key, auth.sha256};
  std::optional<Transmit> out;
  Allocation* a = owned_allocation(t, m, auth, now, out);
  if (!a) return out;

  const auto number_attr = m.find(wire::StunAttr::kChannelNumber);
  const auto peer_attr = m.find(wire::StunAttr::kXorPeerAddress);
  const auto number = number_attr ? wire::decode_channel_number(number_attr->value) : std::nullopt;
  const auto peer =
      peer_attr ? wire::decode_xor_address(peer_attr->value, m.transaction_id()) : std::nullopt;
  if (!number || !peer || !wire::is_valid_channel(*number, wire::ChannelRange::kRfc5766)) {
    return error(t, m, wire::stun_error::kBadRequest,
                 "ChannelBind needs CHANNEL-NUMBER 0x4000-0x7FFF and XOR-PEER-ADDRESS",
                 RelayDrop::kMalformed, s);
  }
  if (auto refused = refuse_peer(t, m, *a, peer->address, s)) return refused;
  switch (a->check_bind(*number, *peer, now, config_.max_channels)) {
    case BindCheck::kOk:
      break;
    case BindCheck::kConflict:
      return error(t, m, wire::stun_error::kBadRequest,
                   "Channel or peer already bound to another (or within 5 minutes of it)",
                   RelayDrop::kChannelConflict, s);
    case BindCheck::kFull:
      return error(t, m, wire::stun_error::kInsufficientCapacity,
                   "Insufficient Capacity: too many channels", RelayDrop::kCapacity, s);
  }
  // §12.2: a binding installs or refreshes the permission for the peer's IP too.
  const IpAddress ip = peer->address;
  if (!a->permit(std::span<const IpAddress>(&ip, 1), now, config_.max_permissions)) {
    return error(t, m, wire::stun_error::kInsufficientCapacity,
                 "Insufficient Capacity: too many permissions", RelayDrop::kCapacity, s);
  }
  a->bind(*number, *peer, now);
  schedule_sweep(now + kPermissionLifetime);
  return success(t, m, s);
}

}  // namespace tern::relay

// The relayed peers' side of the relay link: the family of the allocation asked for, a
// handshake initiation held until the relay can carry it, and endpoints that move.
#include <algorithm>

#include "agent/relay_link.hpp"
#include "base/log.hpp"
#include "io/clock.hpp"

namespace tern::agent {
namespace {

// A held initiation older than this has been replaced by WireGuard's retry (REKEY_TIMEOUT 5 s)
// or will be: it is counted as relay_denied and forgotten.
constexpr Duration kHoldLimit = std::chrono::seconds(5);

bool is_initiation(Bytes message) {
  return message.size() == wire::kInitiationSize && message[0] == wire::kMessageInitiation;
}

}  // namespace

IpAddress::Family relay_family(std::span<const Endpoint> peers) {
  const bool all_v6 = !peers.empty() && std::all_of(peers.begin(), peers.end(), [](const auto& e) {
    return e.address.is_v6();
  });
  return all_v6 ? IpAddress::Family::kV6 : IpAddress::Family::kV4;
}

bool RelayLink::choose_family(core::Device& device, Instant now) {
  std::vector<Endpoint> endpoints;
  for (const auto& p : peers_)
    endpoints.push_back(p.endpoint);
  const auto family = relay_family(endpoints);
  if (family == family_) return false;
  family_ = family;
  log::info("relay {}: asking for an IPv{} relayed address, the family of its peers", config_.url,
            family == IpAddress::Family::kV6 ? 6 : 4);
  new_client(device, now, io::wall_now());
  return true;
}

void RelayLink::follow_endpoints(core::Device& device, Instant now) {
  bool moved = false;
  for (auto it = peers_.begin(); it != peers_.end();) {
    // Every loop turn: the device's allocation-free accessors, not peer_info (a copy).
    if (!device.has_peer(it->id)) {  // removed from the device (UAPI): nothing to relay any more
      client_->remove_peer(it->endpoint);
      it = peers_.erase(it);
      moved = true;
      continue;
    }
    const std::optional<Endpoint> now_at = device.endpoint(it->id);
    if (now_at && *now_at != it->endpoint) {
      log::info("relay: peer {} moved to {}: relayed there", it->endpoint.to_string(),
                now_at->to_string());
      // The new one first: a permission shared by both (same address) is kept, not asked anew.
      client_->add_peer(*now_at, now);
      client_->remove_peer(it->endpoint);
      it->endpoint = *now_at;
      moved = true;
    }
    ++it;
  }
  if (!moved || choose_family(device, now)) return;
  for (const auto& p : peers_) {  // a permission and a channel for the new endpoints
    client_->add_peer(p.endpoint, now);
    device.set_relay_leg(p.id, leg(p.endpoint, client_->bound_channel(p.endpoint, now).has_value()),
                         now);
  }
}

bool RelayLink::hold(const Endpoint& to, Bytes message, Instant now) {
  if (!is_initiation(message) || client_->has_permission(to.address, now)) return false;
  for (auto& p : peers_) {
    if (p.endpoint != to) continue;
    std::copy(message.begin(), message.end(), p.held.begin() + kRelayHeadroom);
    p.held_at = now;  // a newer initiation replaces the older: only the latest is answered
    return true;
  }
  return false;
}

void RelayLink::release_held(core::Device& device, Instant now) {
  for (auto& p : peers_) {
    if (!p.held_at) continue;
    if (now - *p.held_at > kHoldLimit) {
      p.held_at.reset();
      device.count_drop(DropReason::kRelayDenied, p.endpoint);
      continue;
    }
    if (!client_->has_permission(p.endpoint.address, now)) continue;
    p.held_at.reset();
    const core::TurnSend framed =
        client_->send_to(p.endpoint, MutableBytes(p.held), wire::kInitiationSize, now);
    if (!framed.ok()) {
      device.count_drop(framed.reason, p.endpoint);
      continue;
    }
    log::debug("relay: the held handshake initiation to {} goes out", p.endpoint.to_string());
    if (!send_framed(framed.message)) device.count_drop(DropReason::kSendFailed, p.endpoint);
  }
}

bool RelayLink::send_framed(Bytes message) {
  if (stream_) return stream_->send(message, io::monotonic_now());
  control_.clear();
  (void)control_.add(server_, message);
  auto sent = socket_->send(control_);
  const bool ok = sent && *sent > 0 && control_.error(0) == 0;
  control_.clear();
  return ok;
}

}  // namespace tern::agent

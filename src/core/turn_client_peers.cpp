// Permissions (one per peer address, RFC 8656 §9: 300 s, refreshed at 240 s) and
// channels (one per peer endpoint, §12: 600 s, refreshed at 540 s). Each entry
// keeps `due`, the time of its next request; requests go out only while allocated.
#include <algorithm>

#include "core/turn_client.hpp"
#include "wire/channel_data.hpp"

namespace tern::core {

void TurnClient::add_peer(const Endpoint& peer, Instant now) {
  if (channels_.contains(peer)) return;
  std::erase_if(retired_channels_, [now](const auto& r) { return r.second.until <= now; });
  Channel c;
  if (auto r = retired_channels_.find(peer); r != retired_channels_.end()) {
    if (!channel_peers_.contains(r->second.number)) c.number = r->second.number;
    retired_channels_.erase(r);
  }
  if (c.number == 0) c.number = next_channel_number();
  if (c.number != 0) channel_peers_[c.number] = peer;
  channels_.emplace(peer, c);
  ++permissions_[peer.address].users;
  if (is_allocated()) send_due_peer_requests(now);
}

void TurnClient::remove_peer(const Endpoint& peer) {
  auto c = channels_.find(peer);
  if (c == channels_.end()) return;
  if (auto n = channel_peers_.find(c->second.number);
      n != channel_peers_.end() && n->second == peer) {
    channel_peers_.erase(n);
  }
  if (c->second.number != 0 && c->second.expires != Instant{}) {
    retired_channels_[peer] = Retired{c->second.number, c->second.expires + kChannelReuseDelay};
  }
  channels_.erase(c);
  auto p = permissions_.find(peer.address);
  if (p != permissions_.end() && --p->second.users == 0) permissions_.erase(p);
}

uint16_t TurnClient::next_channel_number() {
  constexpr unsigned kCount = wire::kChannelMax - wire::kChannelMin + 1;
  for (unsigned i = 0; i < kCount; ++i) {
    const unsigned offset = (next_channel_ + i) % kCount;
    const auto n = static_cast<uint16_t>(wire::kChannelMin + offset);
    if (!channel_number_taken(n)) {
      next_channel_ = static_cast<uint16_t>((offset + 1) % kCount);
      return n;
    }
  }
  return 0;  // all 4096 in use: this peer gets Send indications only
}

bool TurnClient::channel_number_taken(uint16_t number) const {
  if (channel_peers_.contains(number)) return true;
  return std::any_of(retired_channels_.begin(), retired_channels_.end(),
                     [number](const auto& r) { return r.second.number == number; });
}

void TurnClient::refuse_peer_address(const IpAddress& address, const TurnError& error) {
  auto p = permissions_.find(address);
  if (p == permissions_.end() || p->second.refused) return;
  p->second.refused = true;
  p->second.in_flight = false;
  bool reported = false;
  // Channels are ordered by address, then port: the ones on this address are adjacent.
  for (auto c = channels_.lower_bound(Endpoint{address, 0});
       c != channels_.end() && c->first.address == address; ++c) {
    c->second.in_flight = false;
    c->second.expires = {};
    events_.push_back(TurnPeerFailed{c->first, error});
    reported = true;
  }
  if (!reported) events_.push_back(TurnPeerFailed{Endpoint{address, 0}, error});
}

void TurnClient::reset_peers() {
  for (auto& [address, p] : permissions_) {
    p.in_flight = false;
    p.announced = false;
    p.due = {};
    p.expires = {};
  }
  for (auto& [peer, c] : channels_) {
    c.in_flight = false;
    c.announced = false;
    c.due = {};
    c.expires = {};
  }
}

void TurnClient::send_due_peer_requests(Instant now) {
  for (auto& [address, p] : permissions_) {
    if (p.refused || p.in_flight || p.due > now) continue;
    // The port of XOR-PEER-ADDRESS is ignored in CreatePermission (RFC 8656 §9.1);
    // a peer's own endpoint makes the events name it.
    auto c = channels_.lower_bound(Endpoint{address, 0});
    const Endpoint peer =
        c != channels_.end() && c->first.address == address ? c->first : Endpoint{address, 0};
    send_request(Request::kPermission, now, peer);
    if (!is_allocated()) return;
  }
  for (auto& [peer, c] : channels_) {
    if (c.number == 0 || c.in_flight || c.due > now) continue;
    const auto p = permissions_.find(peer.address);
    if (p != permissions_.end() && p->second.refused) continue;
    send_request(Request::kChannelBind, now, peer, c.number);
    if (!is_allocated()) return;
  }
}

std::optional<Instant> TurnClient::next_peer_deadline() const {
  std::optional<Instant> next;
  for (const auto& [address, p] : permissions_) {
    if (p.refused || p.in_flight) continue;
    if (!next || p.due < *next) next = p.due;
  }
  for (const auto& [peer, c] : channels_) {
    if (c.number == 0 || c.in_flight) continue;
    const auto p = permissions_.find(peer.address);
    if (p != permissions_.end() && p->second.refused) continue;
    if (!next || c.due < *next) next = c.due;
  }
  return next;
}

bool TurnClient::has_permission(const IpAddress& peer, Instant now) const {
  const auto p = permissions_.find(peer);
  return p != permissions_.end() && !p->second.refused && p->second.expires > now;
}

std::optional<uint16_t> TurnClient::bound_channel(const Endpoint& peer, Instant now) const {
  const auto c = channels_.find(peer);
  if (c == channels_.end() || c->second.number == 0 || c->second.expires <= now) {
    return std::nullopt;
  }
  return c->second.number;
}

}  // namespace tern::core

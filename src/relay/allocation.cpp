#include "relay/allocation.hpp"

#include <algorithm>

namespace tern::relay {

bool Allocation::permitted(const IpAddress& peer, Instant now) const {
  for (const auto& p : permissions) {
    if (p.peer == peer) return now < p.expires;
  }
  return false;
}

bool Allocation::permit(std::span<const IpAddress> peers, Instant now, size_t max) {
  std::erase_if(permissions, [now](const Permission& p) { return now >= p.expires; });
  size_t added = 0;
  for (size_t i = 0; i < peers.size(); ++i) {
    const auto& a = peers[i];
    const bool known = std::any_of(permissions.begin(), permissions.end(),
                                   [&a](const Permission& p) { return p.peer == a; });
    const bool repeated = std::find(peers.begin(), peers.begin() + static_cast<ptrdiff_t>(i), a) !=
                          peers.begin() + static_cast<ptrdiff_t>(i);
    if (!known && !repeated) ++added;
  }
  if (permissions.size() + added > max) return false;
  for (const auto& a : peers) {
    auto it = std::find_if(permissions.begin(), permissions.end(),
                           [&a](const Permission& p) { return p.peer == a; });
    if (it == permissions.end()) {
      permissions.push_back({a, now + kPermissionLifetime});
    } else {
      it->expires = now + kPermissionLifetime;
    }
  }
  return true;
}

const Channel* Allocation::channel(uint16_t number, Instant now) const {
  for (const auto& c : channels) {
    if (c.number == number) return c.active(now) ? &c : nullptr;
  }
  return nullptr;
}

const Channel* Allocation::channel_to(const Endpoint& peer, Instant now) const {
  for (const auto& c : channels) {
    if (c.peer == peer) return c.active(now) ? &c : nullptr;
  }
  return nullptr;
}

BindCheck Allocation::check_bind(uint16_t number, const Endpoint& peer, Instant now,
                                 size_t max) const {
  bool exists = false;
  size_t live = 0;
  for (const auto& c : channels) {
    if (!c.reserved(now)) continue;
    ++live;
    const bool same_number = c.number == number;
    const bool same_peer = c.peer == peer;
    if (same_number != same_peer) return BindCheck::kConflict;
    exists = exists || same_number;
  }
  if (!exists && live >= max) return BindCheck::kFull;
  return BindCheck::kOk;
}

void Allocation::bind(uint16_t number, const Endpoint& peer, Instant now) {
  std::erase_if(channels, [now](const Channel& c) { return !c.reserved(now); });
  for (auto& c : channels) {
    if (c.number == number) {
      c.expires = now + kChannelLifetime;
      return;
    }
  }
  channels.push_back({number, peer, now + kChannelLifetime});
}

Instant Allocation::sweep(Instant now) {
  std::erase_if(permissions, [now](const Permission& p) { return now >= p.expires; });
  std::erase_if(channels, [now](const Channel& c) { return !c.reserved(now); });
  Instant next = expires;
  for (const auto& p : permissions)
    next = std::min(next, p.expires);
  for (const auto& c : channels)
    next = std::min(next, c.active(now) ? c.expires : c.expires + kChannelReuseDelay);
  return next;
}

}  // namespace tern::relay

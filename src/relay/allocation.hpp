// One TURN allocation (RFC 8656 §6, §9, §12): the relayed transport address
// the I/O layer opened for it, its lifetime, the permissions (peer IPs, 300 s
// each) and channel bindings (number <-> peer transport address, 600 s each) its
// client installed, and the rate limiters of its two directions. Expiry is
// checked exactly on every use against the `now` passed in; sweep() only frees
// what has expired.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "base/ip.hpp"
#include "base/time.hpp"
#include "relay/five_tuple.hpp"
#include "relay/rate_limit.hpp"
#include "wire/stun.hpp"

namespace tern::relay {

inline constexpr Duration kPermissionLifetime = std::chrono::seconds(300);  // §9
inline constexpr Duration kChannelLifetime = std::chrono::seconds(600);     // §12
// After a binding expires, neither its number nor its peer may be bound to
// anything else for 5 minutes (§12), so late ChannelData cannot reach a new peer.
inline constexpr Duration kChannelReuseDelay = std::chrono::seconds(300);

using AllocationId = uint64_t;

struct Permission {
  IpAddress peer;  // the port does not matter (§9)
  Instant expires;
};

struct Channel {
  uint16_t number = 0;
  Endpoint peer;
  Instant expires;

  bool active(Instant now) const { return now < expires; }
  bool reserved(Instant now) const { return now < expires + kChannelReuseDelay; }
};

enum class BindCheck : uint8_t {
  kOk,
  kConflict,  // number or peer bound (or reserved) to something else: 400
  kFull,      // no room for another channel: 508
};

struct Allocation {
  AllocationId id = 0;
  FiveTuple tuple;
  Endpoint relayed;
  std::string username;    // requests on the allocation must use it (441 otherwise)
  std::string quota_user;  // what the per-user quota counts
  wire::TransactionId allocate_transaction{};  // a retransmitted Allocate gets the same answer
  Instant expires;
  bool dont_fragment = false;
  RateLimiter to_peer;
  RateLimiter to_client;
  std::vector<Permission> permissions;
  std::vector<Channel> channels;

  bool expired(Instant now) const { return now >= expires; }
  IpAddress::Family family() const { return relayed.address.family(); }

  bool permitted(const IpAddress& peer, Instant now) const;
  // Installs or refreshes a permission for every address, or for none when the
  // new ones would not fit under `max` live permissions.
  [[nodiscard]] bool permit(std::span<const IpAddress> peers, Instant now, size_t max);

  // The active binding of a channel number, or of a peer address.
  const Channel* channel(uint16_t number, Instant now) const;
  const Channel* channel_to(const Endpoint& peer, Instant now) const;
  // RFC 8656 §12.2: a number bound to another peer, or a peer bound to another number.
  [[nodiscard]] BindCheck check_bind(uint16_t number, const Endpoint& peer, Instant now,
                                     size_t max) const;
  // Binds or refreshes (after check_bind said kOk).
  void bind(uint16_t number, const Endpoint& peer, Instant now);

  // Forgets expired permissions and channels past their reuse delay; returns the
  // earliest time something here expires next (no later than `expires`).
  Instant sweep(Instant now);
};

}  // namespace tern::relay

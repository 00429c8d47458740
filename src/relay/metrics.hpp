// The relay's counters, and their rendering in the Prometheus text exposition
// format (version 0.0.4) for a metrics endpoint. The relay keeps its own list of
// drop reasons rather than base/drop_reason.hpp's, because a server refuses
// requests for reasons a client never meets (quota, stale nonce, forbidden peer)
// and operators alert on each of them by name. Every refused request and every
// discarded packet is counted under exactly one reason.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace tern::relay {

enum class RelayDrop : uint8_t {
  kMalformed,           // not STUN or ChannelData, bad FINGERPRINT, bad attribute value (400)
  kUnknownAttribute,    // a comprehension-required attribute the relay does not do (420)
  kUnexpectedMessage,   // a response, an unknown method or indication sent to the server
  kAuthFailed,          // unknown user, wrong realm or wrong password (401)
  kCredentialsExpired,  // TURN REST credentials past their expiry (401)
  kStaleNonce,          // a nonce past its lifetime or not issued to this client (438)
  kWrongCredentials,    // a request on an allocation made by another user (441)
  kAllocationMismatch,  // Allocate on a 5-tuple that already has an allocation (437)
  kNoAllocation,        // a request or data on a 5-tuple or relay address without one (437)
  kUnsupported,         // transport, address family or port reservation not offered (442, 440, 508)
  kPeerFamilyMismatch,  // peer address of the other family than the relayed one (443)
  kQuota,               // allocation quota per user or in total reached (486)
  kCapacity,            // no relay port, or the permission/channel table full (508)
  kForbiddenPeer,       // a peer address the policy refuses (403, and Send to one)
  kChannelConflict,     // ChannelBind against the rebinding rules (400)
  kNoPermission,        // data to or from a peer without a permission
  kNoChannel,           // ChannelData on a channel that is not bound
  kRateLimited,         // over the allocation's bytes/s or packets/s
  kTooLarge,            // peer data that does not fit a Data indication
  kCount,
};

inline constexpr size_t kRelayDropCount = static_cast<size_t>(RelayDrop::kCount);

std::string_view relay_drop_name(RelayDrop d);  // "auth_failed", ...

// Requests counted by method.
enum class RelayMethod : uint8_t {
  kBinding,
  kAllocate,
  kRefresh,
  kCreatePermission,
  kChannelBind,
  kCount,
};
inline constexpr size_t kRelayMethodCount = static_cast<size_t>(RelayMethod::kCount);
std::string_view relay_method_name(RelayMethod m);  // "allocate", ...

struct TrafficCounter {
  uint64_t packets = 0;
  uint64_t bytes = 0;  // application data only, without TURN or UDP headers

  void add(size_t n) {
    ++packets;
    bytes += n;
  }
};

struct RelayCounters {
  uint64_t allocations_current = 0;
  uint64_t allocations_total = 0;
  uint64_t allocations_expired = 0;  // ended by their lifetime rather than a Refresh of 0
  uint64_t challenges = 0;           // 401 with a fresh nonce to a request without credentials
  std::array<uint64_t, kRelayMethodCount> requests{};
  TrafficCounter to_peer;    // client -> relay -> peer
  TrafficCounter to_client;  // peer -> relay -> client
  std::array<uint64_t, kRelayDropCount> drops{};

  void drop(RelayDrop d) { ++drops[static_cast<size_t>(d)]; }
  uint64_t dropped(RelayDrop d) const { return drops[static_cast<size_t>(d)]; }
  void request(RelayMethod m) { ++requests[static_cast<size_t>(m)]; }
  uint64_t requested(RelayMethod m) const { return requests[static_cast<size_t>(m)]; }
  // Sums another core's counters in (a relay with several event loops reports one total).
  RelayCounters& operator+=(const RelayCounters& o);
};

// The counters as Prometheus text: # HELP and # TYPE lines, metric names
// prefixed "tern_relay_", one series per label value, zeros included so that
// every series exists from the first scrape. Pure: the HTTP side is elsewhere.
[[nodiscard]] std::string render_prometheus(const RelayCounters& c);

}  // namespace tern::relay

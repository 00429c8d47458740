// Allocate and Refresh (RFC 8656 §7-8), and the life of an allocation: created by
// an authenticated Allocate within the quotas, extended by Refresh, ended by a
// Refresh of 0, by its lifetime running out, or by its TCP/TLS connection closing.
#include <algorithm>

#include "relay/server.hpp"
#include "wire/stun_attributes.hpp"

namespace tern::relay {
namespace {

uint32_t whole_seconds(Duration d) {
  return static_cast<uint32_t>(std::chrono::duration_cast<std::chrono::seconds>(d).count());
}

}  // namespace

Duration RelayServer::desired_lifetime(uint32_t requested_seconds) const {
  // §7.2: min(requested, maximum), but never below the default.
  const Duration requested = std::chrono::seconds(requested_seconds);
  return std::max(std::min(requested, config_.max_lifetime), config_.default_lifetime);
}

Allocation* RelayServer::live_allocation(const FiveTuple& t, Instant now) {
  const auto it = allocations_.find(t);
  if (it == allocations_.end()) return nullptr;
  if (it->second->expired(now)) {
    end_allocation(it, true);
    return nullptr;
  }
  return it->second.get();
}

void RelayServer::end_allocation(AllocationMap::iterator it, bool expired) {
  Allocation& a = *it->second;
  ports_.close(a.id, a.relayed);
  by_relay_.erase(a.relayed);
  quota_->release(a.quota_user);
  if (expired) ++counters_.allocations_expired;
  allocations_.erase(it);
  counters_.allocations_current = allocations_.size();
}

Allocation* RelayServer::owned_allocation(const FiveTuple& t, const wire::StunMessage& m,
                                          const AuthResult& auth, Instant now,
                                          std::optional<Transmit>& out) {
  const Signing s{&auth.key, auth.sha256};
  Allocation* a = live_allocation(t, now);
  if (!a) {
    out = error(t, m, wire::stun_error::kAllocationMismatch, "Allocation Mismatch",
                RelayDrop::kNoAllocation, s);
    return nullptr;
  }
  // RFC 8656: every request on an allocation uses the credentials that made it.
  if (a->username != auth.username) {
    out = error(t, m, wire::stun_error::kWrongCredentials, "Wrong Credentials",
                RelayDrop::kWrongCredentials, s);
    return nullptr;
  }
  return a;
}

std::optional<Transmit> RelayServer::allocate(const FiveTuple& t, const wire::StunMessage& m,
                                              const AuthResult& auth, Instant now) {
  const Signing s{&auth.key, auth.sha256};
  if (const Allocation* a = live_allocation(t, now)) {
    // §7.2: a retransmission of the request that made it gets the same answer.
    if (a->allocate_transaction == m.transaction_id() && a->username == auth.username) {
      return allocate_success(t, m, *a, s, now);
    }
    return error(t, m, wire::stun_error::kAllocationMismatch, "Allocation Mismatch",
                 RelayDrop::kAllocationMismatch, s);
  }

  const auto transport = m.find(wire::StunAttr::kRequestedTransport);
  const auto protocol =
      transport ? wire::decode_requested_transport(transport->value) : std::nullopt;
  if (!protocol) {
    return error(t, m, wire::stun_error::kBadRequest, "Missing or malformed REQUESTED-TRANSPORT",
                 RelayDrop::kMalformed, s);
  }
  if (*protocol != wire::kProtocolUdp) {
    return error(t, m, wire::stun_error::kUnsupportedTransportProtocol,
                 "Unsupported Transport Protocol: only UDP is relayed", RelayDrop::kUnsupported, s);
  }

  // EVEN-PORT (RFC 8656 §14.6) asks for an even port and, with the R bit, for
  // the next one to be held for a later Allocate naming its RESERVATION-TOKEN.
  // tern holds no reservations (docs/relay.md): both get 508, §7.2's answer to
  // a request the server cannot satisfy.
  const auto even_attr = m.find(wire::StunAttr::kEvenPort);
  const bool token = m.find(wire::StunAttr::kReservationToken).has_value();
  if (even_attr && token) {
    return error(t, m, wire::stun_error::kBadRequest, "EVEN-PORT with RESERVATION-TOKEN",
                 RelayDrop::kMalformed, s);
  }
  if (even_attr && even_attr->value.empty()) {
    return error(t, m, wire::stun_error::kBadRequest, "Malformed EVEN-PORT", RelayDrop::kMalformed,
                 s);
  }
  if (even_attr && (even_attr->value[0] & 0x80) != 0) {
    return error(t, m, wire::stun_error::kInsufficientCapacity,
                 "Insufficient Capacity: no port reservations (EVEN-PORT R bit)",
                 RelayDrop::kUnsupported, s);
  }
  if (token) {
    return error(t, m, wire::stun_error::kInsufficientCapacity,
                 "Insufficient Capacity: no port reserved for this RESERVATION-TOKEN",
                 RelayDrop::kUnsupported, s);
  }
  const bool even_port = even_attr.has_value();

  IpAddress::Family family = IpAddress::Family::kV4;
  if (const auto attr = m.find(wire::StunAttr::kRequestedAddressFamily)) {
    if (attr->value.size() != 4) {
      return error(t, m, wire::stun_error::kBadRequest, "Malformed REQUESTED-ADDRESS-FAMILY",
                   RelayDrop::kMalformed, s);
    }
    const auto f = wire::decode_address_family(attr->value);
    if (!f) {
      return error(t, m, wire::stun_error::kAddressFamilyNotSupported,
                   "Address Family not Supported", RelayDrop::kUnsupported, s);
    }
    family = *f;
  }
  if ((family == IpAddress::Family::kV4 && !config_.relay_ipv4) ||
      (family == IpAddress::Family::kV6 && !config_.relay_ipv6)) {
    return error(t, m, wire::stun_error::kAddressFamilyNotSupported, "Address Family not Supported",
                 RelayDrop::kUnsupported, s);
  }

  uint32_t requested = whole_seconds(config_.default_lifetime);
  if (const auto attr = m.find(wire::StunAttr::kLifetime)) {
    const auto v = wire::decode_u32(attr->value);
    if (!v) {
      return error(t, m, wire::stun_error::kBadRequest, "Malformed LIFETIME", RelayDrop::kMalformed,
                   s);
    }
    requested = *v;
  }

  const std::string quota_user(auth.quota_user);
  if (const auto refused = quota_->acquire(quota_user)) {
    return error(t, m, wire::stun_error::kAllocationQuotaReached,
                 *refused == QuotaRefusal::kTotal ? "Allocation Quota Reached: the relay is full"
                                                  : "Allocation Quota Reached for this user",
                 RelayDrop::kQuota, s);
  }

  const AllocationId id = next_id_++;
  const bool dont_fragment = m.find(wire::StunAttr::kDontFragment).has_value();
  const auto relayed = ports_.open({id, family, dont_fragment, even_port, t, auth.username});
  if (!relayed || relayed->address.family() != family || by_relay_.contains(*relayed) ||
      (even_port && relayed->port % 2 != 0)) {
    // A wrong answer from the I/O layer is closed again rather than trusted.
    if (relayed) ports_.close(id, *relayed);
    quota_->release(quota_user);
    return error(t, m, wire::stun_error::kInsufficientCapacity,
                 "Insufficient Capacity: no relay port free", RelayDrop::kCapacity, s);
  }

  auto a = std::make_unique<Allocation>();
  a->id = id;
  a->tuple = t;
  a->relayed = *relayed;
  a->username = std::string(auth.username);
  a->quota_user = quota_user;
  a->allocate_transaction = m.transaction_id();
  a->expires = now + desired_lifetime(requested);
  a->dont_fragment = dont_fragment;
  a->to_peer = RateLimiter(config_.rate_limit, now);
  a->to_client = RateLimiter(config_.rate_limit, now);
  const Allocation& made = *a;
  by_relay_[made.relayed] = a.get();
  allocations_.emplace(t, std::move(a));
  ++counters_.allocations_total;
  counters_.allocations_current = allocations_.size();
  schedule_sweep(made.expires);
  return allocate_success(t, m, made, s, now);
}

std::optional<Transmit> RelayServer::allocate_success(const FiveTuple& t,
                                                      const wire::StunMessage& m,
                                                      const Allocation& a, Signing s, Instant now) {
  auto b = start_reply(m, wire::StunClass::kSuccess);
  b.add_xor_address(wire::StunAttr::kXorRelayedAddress, a.relayed);
  b.add_lifetime(whole_seconds(a.expires - now));
  b.add_xor_address(wire::StunAttr::kXorMappedAddress, t.client);
  return finish_reply(b, t, m, s);
}

std::optional<Transmit> RelayServer::refresh(const FiveTuple& t, const wire::StunMessage& m,
                                             const AuthResult& auth, Instant now) {
  const Signing s{&auth.key, auth.sha256};
  std::optional<Transmit> out;
  Allocation* a = owned_allocation(t, m, auth, now, out);
  if (!a) return out;

  if (const auto attr = m.find(wire::StunAttr::kRequestedAddressFamily)) {
    const auto f = wire::decode_address_family(attr->value);
    if (!f || *f != a->family()) {
      return error(t, m, wire::stun_error::kPeerAddressFamilyMismatch,
                   "Peer Address Family Mismatch", RelayDrop::kPeerFamilyMismatch, s);
    }
  }
  uint32_t requested = whole_seconds(config_.default_lifetime);
  if (const auto attr = m.find(wire::StunAttr::kLifetime)) {
    const auto v = wire::decode_u32(attr->value);
    if (!v) {
      return error(t, m, wire::stun_error::kBadRequest, "Malformed LIFETIME", RelayDrop::kMalformed,
                   s);
    }
    requested = *v;
  }

  uint32_t granted = 0;
  if (requested == 0) {
    end_allocation(allocations_.find(t), false);
  } else {
    const Duration lifetime = desired_lifetime(requested);
    a->expires = now + lifetime;
    granted = whole_seconds(lifetime);
    schedule_sweep(a->expires);
  }
  auto b = start_reply(m, wire::StunClass::kSuccess);
  b.add_lifetime(granted);
  return finish_reply(b, t, m, s);
}

}  // namespace tern::relay

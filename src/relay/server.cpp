#include "relay/server.hpp"

#include <algorithm>

#include "crypto/random.hpp"
#include "wire/channel_data.hpp"
#include "wire/stun_attributes.hpp"
#include "wire/stun_fingerprint.hpp"

namespace tern::relay {
namespace {

// Expired allocations are ended at most this late; every use checks expiry exactly.
constexpr Duration kSweepGranularity = std::chrono::seconds(1);
// UNKNOWN-ATTRIBUTES lists at most this many types.
constexpr size_t kMaxUnknown = 16;

std::optional<RelayMethod> relay_method(wire::StunMethod m) {
  switch (m) {
    case wire::StunMethod::kBinding:
      return RelayMethod::kBinding;
    case wire::StunMethod::kAllocate:
      return RelayMethod::kAllocate;
    case wire::StunMethod::kRefresh:
      return RelayMethod::kRefresh;
    case wire::StunMethod::kCreatePermission:
      return RelayMethod::kCreatePermission;
    case wire::StunMethod::kChannelBind:
      return RelayMethod::kChannelBind;
    case wire::StunMethod::kSend:
    case wire::StunMethod::kData:
      break;
  }
  return std::nullopt;
}

}  // namespace

Result<std::unique_ptr<RelayServer>> RelayServer::create(
    RelayConfig config, RelayPortAllocator& ports,
    std::optional<std::array<uint8_t, kNonceKeySize>> nonce_key, AllocationQuota* quota) {
  if (auto ok = validate(config); !ok) return tl::unexpected(ok.error());
  std::array<uint8_t, kNonceKeySize> key{};
  if (nonce_key) {
    key = *nonce_key;
  } else {
    crypto::random_bytes(key);
  }
  return std::unique_ptr<RelayServer>(new RelayServer(std::move(config), ports, key, quota));
}

RelayServer::RelayServer(RelayConfig config, RelayPortAllocator& ports,
                         const std::array<uint8_t, kNonceKeySize>& nonce_key,
                         AllocationQuota* quota)
    : config_(std::move(config)),
      ports_(ports),
      auth_(config_, nonce_key),
      policy_(config_.allowed_peers, config_.denied_peers),
      own_quota_(quota ? nullptr
                       : std::make_unique<LocalQuota>(config_.max_allocations, config_.user_quota)),
      quota_(quota ? quota : own_quota_.get()),
      reply_(wire::kStunMaxUdpMessage) {
  crypto::random_bytes(indication_prefix_);
}

RelayServer::~RelayServer() {
  for (auto& [tuple, a] : allocations_) {
    ports_.close(a->id, a->relayed);
    quota_->release(a->quota_user);  // a shared ledger outlives this core
  }
}

void RelayServer::set_wall_clock(WallTime wall, Instant mono) {
  wall_offset_ns_ = wall.unix_ns - to_ns(mono);
  wall_known_ = true;
}

int64_t RelayServer::unix_seconds(Instant now) const {
  if (!wall_known_) return INT64_MIN;
  return (to_ns(now) + wall_offset_ns_) / 1'000'000'000;
}

std::optional<Transmit> RelayServer::handle_client(const FiveTuple& t, Bytes message, Instant now) {
  if (wire::is_channel_data(message)) return channel_data(t, message, now);
  const auto parsed = wire::StunMessage::parse(message);
  if (!parsed) return drop(RelayDrop::kMalformed);
  const auto& m = *parsed;
  if (m.fingerprint_offset() && wire::check_fingerprint(m) != wire::StunCheck::kValid) {
    return drop(RelayDrop::kMalformed);
  }
  switch (m.message_class()) {
    case wire::StunClass::kRequest:
      return handle_request(t, m, now);
    case wire::StunClass::kIndication:
      return handle_indication(t, m, now);
    case wire::StunClass::kSuccess:
    case wire::StunClass::kError:
      break;
  }
  return drop(RelayDrop::kUnexpectedMessage);
}

std::optional<Transmit> RelayServer::handle_request(const FiveTuple& t, const wire::StunMessage& m,
                                                    Instant now) {
  const auto method = relay_method(m.method());
  if (!method)
    return error(t, m, wire::stun_error::kBadRequest, "Unknown method",
                 RelayDrop::kUnexpectedMessage);
  counters_.request(*method);

  std::array<uint16_t, kMaxUnknown> unknown{};
  const size_t n = std::min(m.unknown_comprehension_required(unknown), unknown.size());
  if (n > 0) return unknown_attributes(t, m, std::span<const uint16_t>(unknown.data(), n));

  if (*method == RelayMethod::kBinding) return binding(t, m);
  return turn_request(t, m, now);
}

std::optional<Transmit> RelayServer::handle_indication(const FiveTuple& t,
                                                       const wire::StunMessage& m, Instant now) {
  if (m.is(wire::StunMethod::kSend, wire::StunClass::kIndication)) {
    std::array<uint16_t, 1> unknown{};
    if (m.unknown_comprehension_required(unknown) > 0) return drop(RelayDrop::kUnknownAttribute);
    return send_indication(t, m, now);
  }
  // A Binding indication is a keepalive (RFC 8489 §6.3.2): nothing to do, nothing dropped.
  if (m.is(wire::StunMethod::kBinding, wire::StunClass::kIndication)) return std::nullopt;
  return drop(RelayDrop::kUnexpectedMessage);
}

std::optional<Transmit> RelayServer::binding(const FiveTuple& t, const wire::StunMessage& m) {
  wire::ChangeRequest change;
  if (const auto attr = m.find(wire::StunAttr::kChangeRequest)) {
    const auto decoded = wire::decode_change_request(attr->value);
    if (!decoded) {
      return error(t, m, wire::stun_error::kBadRequest, "Malformed CHANGE-REQUEST",
                   RelayDrop::kMalformed);
    }
    change = *decoded;
  }
  // RFC 5780: the server knows its other address only when the request came
  // to one of the four combinations of the two configured IPs and ports.
  const Endpoint& local = t.server;
  std::optional<Endpoint> other;
  if (const auto& d = config_.discovery) {
    const bool ip_known =
        local.address == d->primary.address || local.address == d->alternate.address;
    const bool port_known = local.port == d->primary.port || local.port == d->alternate.port;
    if (ip_known && port_known) {
      other =
          Endpoint{local.address == d->primary.address ? d->alternate.address : d->primary.address,
                   local.port == d->primary.port ? d->alternate.port : d->primary.port};
    }
  }
  // RFC 5780 §7.5: RESPONSE-PORT sends the answer to another port of the
  // client's IP (the 2-byte port, then 2 bytes of padding).
  Endpoint to = t.client;
  if (const auto attr = m.find(wire::StunAttr::kResponsePort)) {
    const auto value = wire::decode_u32(attr->value);
    const auto port = static_cast<uint16_t>(value.value_or(0) >> 16);
    if (port == 0) {
      return error(t, m, wire::stun_error::kBadRequest, "Malformed RESPONSE-PORT",
                   RelayDrop::kMalformed);
    }
    // Over a stream the answer can only go back on the connection.
    if (t.transport != Transport::kUdp) {
      const uint16_t type = wire::to_u16(wire::StunAttr::kResponsePort);
      return unknown_attributes(t, m, std::span<const uint16_t>(&type, 1));
    }
    to.port = port;
  }
  Endpoint from = local;
  if (change.change_ip || change.change_port) {
    // Without a second address, or over a stream (a TCP answer cannot come from
    // elsewhere), CHANGE-REQUEST cannot be honoured: 420 says so, as coturn does.
    if (!other || t.transport != Transport::kUdp) {
      const uint16_t type = wire::to_u16(wire::StunAttr::kChangeRequest);
      return unknown_attributes(t, m, std::span<const uint16_t>(&type, 1));
    }
    if (change.change_ip) from.address = other->address;
    if (change.change_port) from.port = other->port;
  }
  auto b = start_reply(m, wire::StunClass::kSuccess);
  b.add_xor_address(wire::StunAttr::kXorMappedAddress, t.client);
  if (other) {
    b.add_address(wire::StunAttr::kOtherAddress, *other);
    b.add_address(wire::StunAttr::kResponseOrigin, from);
  }
  return finish_reply(b, t, m, {}, from, to);
}

std::optional<Transmit> RelayServer::turn_request(const FiveTuple& t, const wire::StunMessage& m,
                                                  Instant now) {
  const auto auth = auth_.check(m, t.client.address, now, unix_seconds(now));
  switch (auth.verdict) {
    case AuthVerdict::kOk:
      break;
    case AuthVerdict::kChallenge:
      ++counters_.challenges;
      return challenge(t, m, wire::stun_error::kUnauthorized, "Unauthorized", now);
    case AuthVerdict::kBadRequest:
      return error(t, m, wire::stun_error::kBadRequest,
                   "MESSAGE-INTEGRITY without USERNAME, REALM and NONCE", RelayDrop::kMalformed);
    case AuthVerdict::kFailed:
      counters_.drop(RelayDrop::kAuthFailed);
      return challenge(t, m, wire::stun_error::kUnauthorized, "Unauthorized", now);
    case AuthVerdict::kStaleNonce:
      counters_.drop(RelayDrop::kStaleNonce);
      return challenge(t, m, wire::stun_error::kStaleNonce, "Stale Nonce", now);
    case AuthVerdict::kExpired:
      counters_.drop(RelayDrop::kCredentialsExpired);
      return challenge(t, m, wire::stun_error::kUnauthorized,
                       "Unauthorized: TURN REST credentials expired", now);
  }
  switch (m.method()) {
    case wire::StunMethod::kAllocate:
      return allocate(t, m, auth, now);
    case wire::StunMethod::kRefresh:
      return refresh(t, m, auth, now);
    case wire::StunMethod::kCreatePermission:
      return create_permission(t, m, auth, now);
    case wire::StunMethod::kChannelBind:
      return channel_bind(t, m, auth, now);
    case wire::StunMethod::kBinding:
    case wire::StunMethod::kSend:
    case wire::StunMethod::kData:
      break;
  }
  return drop(RelayDrop::kUnexpectedMessage);
}

void RelayServer::connection_closed(const FiveTuple& tuple) {
  if (auto it = allocations_.find(tuple); it != allocations_.end()) end_allocation(it, false);
}

void RelayServer::schedule_sweep(Instant at) {
  if (!next_sweep_ || at < *next_sweep_) next_sweep_ = at;
}

void RelayServer::handle_timeout(Instant now) {
  if (!next_sweep_ || now < *next_sweep_) return;
  next_sweep_.reset();
  std::optional<Instant> next;
  for (auto it = allocations_.begin(); it != allocations_.end();) {
    Allocation& a = *it->second;
    if (a.expired(now)) {
      auto gone = it++;
      end_allocation(gone, true);
      continue;
    }
    const Instant at = a.sweep(now);
    if (!next || at < *next) next = at;
    ++it;
  }
  if (next) next_sweep_ = std::max(*next, now + kSweepGranularity);
}

std::optional<AllocationInfo> RelayServer::allocation(const FiveTuple& tuple, Instant now) const {
  const auto it = allocations_.find(tuple);
  if (it == allocations_.end() || it->second->expired(now)) return std::nullopt;
  const Allocation& a = *it->second;
  AllocationInfo info{a.id, a.tuple, a.relayed, a.username, a.expires, 0, 0};
  info.permissions =
      static_cast<size_t>(std::count_if(a.permissions.begin(), a.permissions.end(),
                                        [now](const Permission& p) { return now < p.expires; }));
  info.channels = static_cast<size_t>(std::count_if(
      a.channels.begin(), a.channels.end(), [now](const Channel& c) { return c.active(now); }));
  return info;
}

}  // namespace tern::relay

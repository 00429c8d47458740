// Answers from the server: matched to an outstanding request by transaction id,
// checked against the long-term key, then acted on. Error codes follow RFC 8489
// §9.2.5 (401, 438) and RFC 8656 §7.4 / §7.3 (437 and the rest); a timeout is an
// answer too. Every error that ends something becomes an event with its cause and fix.
#include <algorithm>

#include <fmt/format.h>

#include "core/turn_client.hpp"
#include "wire/stun_attributes.hpp"
#include "wire/stun_integrity.hpp"

namespace tern::core {
namespace {

namespace err = wire::stun_error;

std::optional<Endpoint> xor_address(const wire::StunMessage& m, wire::StunAttr type) {
  const auto attr = m.find(type);
  if (!attr) return std::nullopt;
  return wire::decode_xor_address(attr->value, m.transaction_id());
}

std::optional<Duration> lifetime_of(const wire::StunMessage& m) {
  const auto attr = m.find(wire::StunAttr::kLifetime);
  if (!attr) return std::nullopt;
  const auto seconds = wire::decode_u32(attr->value);
  if (!seconds) return std::nullopt;
  return std::chrono::seconds(*seconds);
}

}  // namespace

TurnClient::Transaction* TurnClient::outstanding_with_id(Bytes raw) {
  if (raw.size() < wire::kStunHeaderSize) return nullptr;
  for (auto& t : outstanding_) {
    if (std::equal(t.id.begin(), t.id.end(), raw.begin() + 8)) return &t;
  }
  return nullptr;
}

void TurnClient::note_unusable(Transaction& t, Unusable why, std::string what) {
  for (auto* u : {&t.unusable, &unusable_}) {
    switch (why) {
      case Unusable::kMalformed:
        ++u->malformed;
        break;
      case Unusable::kWrongSource:
        ++u->wrong_source;
        break;
      case Unusable::kUnexpected:
        ++u->unexpected;
        break;
    }
    u->last = what;
  }
}

TurnReceive TurnClient::receive_response(const wire::StunMessage& m, Instant now) {
  const auto id = m.transaction_id();
  auto it = std::find_if(outstanding_.begin(), outstanding_.end(),
                         [&](const Transaction& t) { return t.id == id; });
  if (it == outstanding_.end()) return dropped(DropReason::kUnexpectedMessage);
  if (method_of(it->request) != m.method()) {
    note_unusable(*it, Unusable::kUnexpected,
                  fmt::format("a {} answer to the {} request", wire::stun_method_name(m.method()),
                              wire::stun_method_name(method_of(it->request))));
    return dropped(DropReason::kUnexpectedMessage);
  }
  const bool success = m.message_class() == wire::StunClass::kSuccess;
  if (it->authenticated) {
    // A success must prove the server knows the key; an error may come without
    // MESSAGE-INTEGRITY (a server cannot always compute it), but never with a wrong one.
    const auto check = auth_.check(m);
    if (check == wire::StunCheck::kInvalid || (success && check == wire::StunCheck::kAbsent)) {
      note_unusable(*it, Unusable::kUnexpected,
                    check == wire::StunCheck::kAbsent
                        ? "a success answer without MESSAGE-INTEGRITY"
                        : "an answer whose MESSAGE-INTEGRITY does not match the credentials");
      return dropped(DropReason::kIntegrityFailed);
    }
  }
  std::optional<wire::StunErrorCode> error;
  if (!success) {
    if (const auto attr = m.find(wire::StunAttr::kErrorCode)) {
      error = wire::decode_error_code(attr->value);
    }
    if (!error) {
      note_unusable(*it, Unusable::kMalformed, "an error answer without a readable ERROR-CODE");
      return dropped(DropReason::kMalformed);
    }
  }
  const Transaction t = std::move(*it);
  outstanding_.erase(it);
  if (success) {
    on_success(t, m, now);
  } else {
    on_error(t, m, error->code, error->reason, now);
  }
  return TurnReceive{.kind = TurnReceive::Kind::kConsumed, .peer = {}, .payload = {}, .reason = {}};
}

void TurnClient::on_allocated(const Transaction& t, const wire::StunMessage& m, Instant now) {
  const auto ctx = context(t.request);
  const auto relayed = xor_address(m, wire::StunAttr::kXorRelayedAddress);
  if (!relayed) return fail(turn_protocol_error(ctx, "a valid XOR-RELAYED-ADDRESS"));
  const Duration lifetime = lifetime_of(m).value_or(kTurnDefaultLifetime);
  if (lifetime <= Duration::zero()) return fail(turn_protocol_error(ctx, "a non-zero LIFETIME"));

  Allocated a{.relayed = *relayed,
              .mapped = xor_address(m, wire::StunAttr::kXorMappedAddress),
              .lifetime = lifetime,
              .expires = t.timer.first_sent() + lifetime,
              .refresh_at = {}};
  a.refresh_at = a.expires - turn_refresh_margin(lifetime);
  events_.push_back(TurnAllocated{a.relayed, a.mapped, lifetime});
  state_ = std::move(a);
  send_due_peer_requests(now);
}

void TurnClient::on_success(const Transaction& t, const wire::StunMessage& m, Instant now) {
  const Instant sent = t.timer.first_sent();
  switch (t.request) {
    case Request::kAllocate:
      return on_allocated(t, m, now);
    case Request::kRefresh: {
      auto* a = std::get_if<Allocated>(&state_);
      if (!a) return;
      const Duration lifetime = lifetime_of(m).value_or(a->lifetime);
      if (lifetime <= Duration::zero()) {
        return lose_allocation(turn_protocol_error(context(t.request),
                                                   "a non-zero LIFETIME (it ended the allocation)"),
                               now);
      }
      a->lifetime = lifetime;
      a->expires = sent + lifetime;
      a->refresh_at = a->expires - turn_refresh_margin(lifetime);
      events_.push_back(TurnRefreshed{lifetime});
      return;
    }
    case Request::kDelete:
      // The stale allocation is gone: allocate again, once.
      state_ = Allocating{.mismatch_cleared = true};
      return send_request(Request::kAllocate, now);
    case Request::kClose:
      return finish_close({});
    case Request::kPermission: {
      auto p = permissions_.find(t.peer.address);
      if (p == permissions_.end() || p->second.refused) return;
      p->second.in_flight = false;
      p->second.expires = sent + kPermissionLifetime;
      p->second.due = sent + kPermissionRefresh;
      if (!p->second.announced) {
        p->second.announced = true;
        events_.push_back(TurnPermissionCreated{t.peer.address});
      }
      return;
    }
    case Request::kChannelBind: {
      auto c = channels_.find(t.peer);
      if (c == channels_.end() || c->second.number != t.channel) return;
      c->second.in_flight = false;
      c->second.expires = sent + kChannelLifetime;
      c->second.due = sent + kChannelRefresh;
      // A binding installs or refreshes the permission too (RFC 8656 §11.2).
      if (auto p = permissions_.find(t.peer.address);
          p != permissions_.end() && !p->second.refused) {
        p->second.expires = std::max(p->second.expires, sent + kPermissionLifetime);
        if (!p->second.in_flight)
          p->second.due = std::max(p->second.due, sent + kPermissionRefresh);
        if (!p->second.announced) {
          p->second.announced = true;
          events_.push_back(TurnPermissionCreated{t.peer.address});
        }
      }
      if (!c->second.announced) {
        c->second.announced = true;
        events_.push_back(TurnChannelBound{t.peer, t.channel});
      }
      return;
    }
  }
}

void TurnClient::on_error(const Transaction& t, const wire::StunMessage& m, uint16_t code,
                          std::string_view reason, Instant now) {
  auto ctx = context(t.request, t.peer);
  if (code == err::kUnauthorized) {
    if (t.authenticated && t.request == Request::kClose) {
      return finish_close(
          "the server refused the deletion (401 Unauthorized); the allocation "
          "expires there within its lifetime");
    }
    if (t.authenticated) {
      const auto& user = auth_.credentials().username;
      return fail(turn_credentials_error(ctx, user, auth_.realm(), rest_username_expiry(user),
                                         local_unix(now)));
    }
    if (auto learned = auth_.learn(m); !learned) {
      return fail(TurnError{TurnErrorKind::kBadChallenge, code,
                            ctx.server() + ": " + learned.error().message});
    }
    return resend_with_new_transaction(t, now, t.stale_nonces);
  }
  if (code == err::kStaleNonce) {
    if (t.stale_nonces >= kMaxStaleNonce) {
      return fail(turn_stale_nonce_error(ctx, t.stale_nonces + 1));
    }
    if (auto learned = auth_.learn(m); !learned) {
      return fail(TurnError{TurnErrorKind::kBadChallenge, code,
                            ctx.server() + ": " + learned.error().message});
    }
    return resend_with_new_transaction(t, now, t.stale_nonces + 1);
  }

  if (code == err::kTryAlternate) {
    if (const auto attr = m.find(wire::StunAttr::kAlternateServer)) {
      ctx.alternate = wire::decode_address(attr->value);
    }
  }
  TurnError error = turn_error(ctx, code, reason);
  switch (t.request) {
    case Request::kAllocate: {
      const auto* a = std::get_if<Allocating>(&state_);
      if (code == err::kAllocationMismatch && a && !a->mismatch_cleared && auth_.ready()) {
        // Most often an allocation left by an earlier run on the same local port:
        // delete it (Refresh with LIFETIME 0, same credentials), then allocate again.
        return send_request(Request::kDelete, now);
      }
      if (code == err::kAllocationMismatch) {
        error.message +=
            "; tern deleted it (Refresh with LIFETIME 0) and allocated again, and the server "
            "still refuses: wait until the old allocation expires (its LIFETIME, 10 minutes by "
            "default) or restart tern on another local port";
      }
      return fail(std::move(error));
    }
    case Request::kRefresh:
      if (code == err::kAllocationMismatch) {
        error.message += " (the server restarted, or the allocation expired there)";
        return lose_allocation(std::move(error), now);
      }
      return fail(std::move(error));
    case Request::kDelete:
      if (code == err::kAllocationMismatch) {  // already gone
        state_ = Allocating{.mismatch_cleared = true};
        return send_request(Request::kAllocate, now);
      }
      error.message =
          turn_error(ctx, err::kAllocationMismatch, {}).message +
          "; deleting the old allocation failed (" + error.message +
          "): wait until it expires (its LIFETIME, 10 minutes by default) or restart tern on "
          "another local port";
      error.kind = TurnErrorKind::kAllocationMismatch;
      return fail(std::move(error));
    case Request::kClose:
      if (code == err::kAllocationMismatch) return finish_close({});
      return finish_close("the server did not confirm the deletion (" + error.message +
                          "); the allocation expires there within its lifetime");
    case Request::kPermission:
    case Request::kChannelBind:
      if (code == err::kAllocationMismatch) {
        error.message += " (the server restarted, or the allocation expired there)";
        return lose_allocation(std::move(error), now);
      }
      return on_peer_error(t, error, code, now);
  }
}

void TurnClient::on_peer_error(const Transaction& t, const TurnError& error, uint16_t code,
                               Instant now) {
  if (code == err::kForbidden || code == err::kPeerAddressFamilyMismatch) {
    return refuse_peer_address(t.peer.address, error);
  }
  events_.push_back(TurnPeerFailed{t.peer, error});
  if (t.request == Request::kPermission) {
    if (auto p = permissions_.find(t.peer.address); p != permissions_.end()) {
      p->second.in_flight = false;
      p->second.due = now + kPeerRetryDelay;
    }
    return;
  }
  auto c = channels_.find(t.peer);
  if (c == channels_.end() || c->second.number != t.channel) return;
  c->second.in_flight = false;
  c->second.due = now + kPeerRetryDelay;
  if (code == err::kBadRequest) {
    // The number or the peer is bound otherwise on the server: try another number,
    // and send Send indications until it is bound.
    channel_peers_.erase(c->second.number);
    c->second.number = next_channel_number();
    if (c->second.number != 0) channel_peers_[c->second.number] = t.peer;
    c->second.expires = {};
    c->second.announced = false;
  }
}

void TurnClient::on_timeout(const Transaction& t, Instant now) {
  const auto ctx = context(t.request, t.peer);
  const Duration waited = now - t.timer.first_sent();
  // Answers came, none usable: the server is there, and at fault.
  auto error = t.unusable.total() > 0 ? turn_server_fault_error(ctx, waited, t.unusable)
                                      : turn_timeout_error(ctx, waited);
  switch (t.request) {
    case Request::kAllocate:
    case Request::kDelete:
      return fail(std::move(error));
    case Request::kRefresh:
      // Try again while the allocation lives; handle_timeout fails it at expiry.
      if (const auto* a = std::get_if<Allocated>(&state_); a && now < a->expires) {
        send_request(Request::kRefresh, now);
      }
      return;
    case Request::kClose:
      return finish_close(error.message + "; the allocation expires there within its lifetime");
    case Request::kPermission:
      if (auto p = permissions_.find(t.peer.address); p != permissions_.end()) {
        p->second.in_flight = false;
        p->second.due = now;
      }
      events_.push_back(TurnPeerFailed{t.peer, std::move(error)});
      return;
    case Request::kChannelBind:
      if (auto c = channels_.find(t.peer); c != channels_.end() && c->second.number == t.channel) {
        c->second.in_flight = false;
        c->second.due = now;
      }
      events_.push_back(TurnPeerFailed{t.peer, std::move(error)});
      return;
  }
}

}  // namespace tern::core

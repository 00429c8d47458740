// Responses: every one is built in the server's reply buffer, carries SOFTWARE
// when configured, MESSAGE-INTEGRITY (or -SHA256, as the request used) when the
// request was authenticated, and FINGERPRINT when the request had one.
#include "relay/server.hpp"
#include "wire/stun_fingerprint.hpp"
#include "wire/stun_integrity.hpp"

namespace tern::relay {

wire::StunBuilder RelayServer::start_reply(const wire::StunMessage& request, wire::StunClass cls) {
  return wire::StunBuilder(reply_, wire::stun_with_class(request.type(), cls),
                           request.transaction_id());
}

std::optional<Transmit> RelayServer::finish_reply(wire::StunBuilder& b, const FiveTuple& t,
                                                  const wire::StunMessage& request, Signing s,
                                                  std::optional<Endpoint> from,
                                                  std::optional<Endpoint> to) {
  if (!config_.software.empty()) b.add_text(wire::StunAttr::kSoftware, config_.software);
  if (s.key) {
    if (s.sha256) {
      b.add_message_integrity_sha256(*s.key);
    } else {
      b.add_message_integrity(*s.key);
    }
  }
  if (request.fingerprint_offset()) b.add_fingerprint();
  const auto bytes = b.finish();
  // Cannot happen with the sizes configuration allows; counted rather than asserted.
  if (!bytes) return drop(RelayDrop::kTooLarge);
  return Transmit{Transmit::Source::kListener, t.transport, from.value_or(t.server),
                  to.value_or(t.client), *bytes};
}

std::optional<Transmit> RelayServer::success(const FiveTuple& t, const wire::StunMessage& request,
                                             Signing s) {
  auto b = start_reply(request, wire::StunClass::kSuccess);
  return finish_reply(b, t, request, s);
}

std::optional<Transmit> RelayServer::error(const FiveTuple& t, const wire::StunMessage& request,
                                           uint16_t code, std::string_view reason, RelayDrop why,
                                           Signing s) {
  counters_.drop(why);
  auto b = start_reply(request, wire::StunClass::kError);
  b.add_error_code(code, reason);
  return finish_reply(b, t, request, s);
}

std::optional<Transmit> RelayServer::challenge(const FiveTuple& t, const wire::StunMessage& request,
                                               uint16_t code, std::string_view reason,
                                               Instant now) {
  auto b = start_reply(request, wire::StunClass::kError);
  b.add_error_code(code, reason);
  b.add_text(wire::StunAttr::kRealm, auth_.realm());
  b.add_text(wire::StunAttr::kNonce, auth_.make_nonce(t.client.address, now).view());
  return finish_reply(b, t, request, {});
}

std::optional<Transmit> RelayServer::unknown_attributes(const FiveTuple& t,
                                                        const wire::StunMessage& request,
                                                        std::span<const uint16_t> types) {
  counters_.drop(RelayDrop::kUnknownAttribute);
  auto b = start_reply(request, wire::StunClass::kError);
  b.add_error_code(wire::stun_error::kUnknownAttribute, "Unknown Attribute");
  b.add_unknown_attributes(types);
  return finish_reply(b, t, request, {});
}

}  // namespace tern::relay

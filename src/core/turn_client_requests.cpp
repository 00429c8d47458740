// Building the client's requests (RFC 8656 §7.1 Allocate, §7.2 Refresh, §9.1
// CreatePermission, §11.1 ChannelBind), signed with the long-term credentials once
// a challenge has been answered, with FINGERPRINT last so a shared socket can tell
// them from other traffic.
#include <algorithm>

#include "core/turn_client.hpp"
#include "crypto/random.hpp"
#include "wire/stun_attributes.hpp"
#include "wire/stun_builder.hpp"

namespace tern::core {

wire::StunMethod TurnClient::method_of(Request request) {
  switch (request) {
    case Request::kAllocate:
      return wire::StunMethod::kAllocate;
    case Request::kRefresh:
    case Request::kDelete:
    case Request::kClose:
      return wire::StunMethod::kRefresh;
    case Request::kPermission:
      return wire::StunMethod::kCreatePermission;
    case Request::kChannelBind:
      return wire::StunMethod::kChannelBind;
  }
  return wire::StunMethod::kRefresh;
}

TurnErrorContext TurnClient::context(Request request, const Endpoint& peer) const {
  TurnErrorContext ctx;
  ctx.host = config_.server_host;
  ctx.port = config_.server_port;
  ctx.transport = config_.transport;
  ctx.method = method_of(request);
  if (request == Request::kPermission || request == Request::kChannelBind) ctx.peer = peer;
  ctx.family = config_.family;
  return ctx;
}

void TurnClient::send_request(Request request, Instant now, const Endpoint& peer, uint16_t channel,
                              unsigned stale_nonces) {
  Transaction t{.id = {},
                .request = request,
                .peer = peer,
                .channel = channel,
                .authenticated = auth_.ready(),
                .stale_nonces = stale_nonces,
                .timer = StunRetransmit(config_.transport, now, config_.retransmit),
                .message = std::vector<uint8_t>(wire::kStunMaxUdpMessage),
                .unusable = {}};
  crypto::random_bytes(t.id);

  wire::StunBuilder b(t.message, method_of(request), wire::StunClass::kRequest, t.id);
  switch (request) {
    case Request::kAllocate:
      b.add_requested_transport(wire::kProtocolUdp);
      if (config_.family == IpAddress::Family::kV6) b.add_address_family(config_.family);
      if (config_.lifetime_seconds) b.add_lifetime(*config_.lifetime_seconds);
      break;
    case Request::kRefresh:
      if (config_.lifetime_seconds) b.add_lifetime(*config_.lifetime_seconds);
      break;
    case Request::kDelete:
    case Request::kClose:
      b.add_lifetime(0);
      break;
    case Request::kPermission:
      b.add_xor_address(wire::StunAttr::kXorPeerAddress, peer);
      break;
    case Request::kChannelBind:
      b.add_channel_number(channel);
      b.add_xor_address(wire::StunAttr::kXorPeerAddress, peer);
      break;
  }
  if (!config_.software.empty()) b.add_text(wire::StunAttr::kSoftware, config_.software);
  if (t.authenticated) {
    auth_.add_credentials(b);
    auth_.add_integrity(b);
  }
  b.add_fingerprint();
  const auto message = b.finish();
  if (!message) {
    fail(turn_protocol_error(context(request, peer),
                             "room for the request: the username, realm or nonce is too long "
                             "for one message (the limits are 508 and 763 bytes)"));
    return;
  }
  t.message.resize(message->size());
  transmits_.push_back(t.message);

  if (request == Request::kPermission) {
    if (auto p = permissions_.find(peer.address); p != permissions_.end())
      p->second.in_flight = true;
  } else if (request == Request::kChannelBind) {
    if (auto c = channels_.find(peer); c != channels_.end()) c->second.in_flight = true;
  }
  outstanding_.push_back(std::move(t));
}

void TurnClient::resend_with_new_transaction(const Transaction& t, Instant now,
                                             unsigned stale_nonces) {
  send_request(t.request, now, t.peer, t.channel, stale_nonces);
}

}  // namespace tern::core

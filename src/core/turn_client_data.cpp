// The data path through the relay (RFC 8656 §10-12). Outbound, the payload is
// framed in place in the caller's buffer: ChannelData (4 bytes) once the peer's
// channel is bound, a Send indication (36 or 48 bytes) until then. Inbound,
// ChannelData and Data indications become (peer, payload) views into the message.
// Nothing here allocates, except the first packet to a peer not yet added.
#include <cstring>

#include "core/turn_client.hpp"
#include "crypto/random.hpp"
#include "wire/channel_data.hpp"
#include "wire/stun_attributes.hpp"
#include "wire/stun_builder.hpp"

namespace tern::core {

TurnReceive TurnClient::dropped(DropReason reason) {
  drops_.add(reason);
  return TurnReceive{
      .kind = TurnReceive::Kind::kDropped, .peer = {}, .payload = {}, .reason = reason};
}

TurnSend TurnClient::send_dropped(DropReason reason) {
  drops_.add(reason);
  return TurnSend{.message = {}, .reason = reason};
}

TurnReceive TurnClient::receive_channel_data(Bytes message) {
  const auto cd = wire::parse_channel_data(message);
  if (!cd) return dropped(DropReason::kMalformed);
  const auto peer = channel_peers_.find(cd->channel);
  if (peer == channel_peers_.end()) return dropped(DropReason::kUnexpectedMessage);
  return TurnReceive{
      .kind = TurnReceive::Kind::kData, .peer = peer->second, .payload = cd->data, .reason = {}};
}

TurnReceive TurnClient::receive_indication(const wire::StunMessage& m) {
  if (!m.is(wire::StunMethod::kData, wire::StunClass::kIndication)) {
    return dropped(DropReason::kUnexpectedMessage);
  }
  const auto peer_attr = m.find(wire::StunAttr::kXorPeerAddress);
  const auto data = m.find(wire::StunAttr::kData);
  if (!peer_attr || !data) return dropped(DropReason::kMalformed);
  const auto peer = wire::decode_xor_address(peer_attr->value, m.transaction_id());
  if (!peer) return dropped(DropReason::kMalformed);
  // The server relays only from permitted peers; anything else is not from it.
  const auto p = permissions_.find(peer->address);
  if (p == permissions_.end() || p->second.refused) {
    return dropped(DropReason::kUnexpectedMessage);
  }
  return TurnReceive{
      .kind = TurnReceive::Kind::kData, .peer = *peer, .payload = data->value, .reason = {}};
}

TurnSend TurnClient::send_to(const Endpoint& peer, MutableBytes buffer, size_t length,
                             Instant now) {
  if (!is_allocated()) return send_dropped(DropReason::kRelayDenied);
  if (length > 0xFFFF || buffer.size() < kTurnSendHeadroom + length + kTurnSendTailroom) {
    return send_dropped(DropReason::kMalformed);
  }
  auto c = channels_.find(peer);
  if (c == channels_.end()) {
    add_peer(peer, now);
    if (!is_allocated()) return send_dropped(DropReason::kRelayDenied);
    c = channels_.find(peer);
  }
  const auto p = permissions_.find(peer.address);
  if (p == permissions_.end() || p->second.refused) {
    return send_dropped(DropReason::kRelayDenied);
  }

  if (c->second.number != 0 && c->second.expires > now) {
    // Over TCP and TLS ChannelData is padded to 4 (RFC 8656 §12.5).
    const bool pad = is_stream(config_.transport);
    const size_t start = kTurnSendHeadroom - wire::kChannelDataHeaderSize;
    const size_t size = wire::channel_data_size(length, pad);
    if (wire::write_channel_data_header(c->second.number, length, buffer.subspan(start)) == 0) {
      return send_dropped(DropReason::kMalformed);
    }
    const size_t padding = size - wire::kChannelDataHeaderSize - length;
    if (padding) std::memset(buffer.data() + kTurnSendHeadroom + length, 0, padding);
    return TurnSend{.message = Bytes(buffer.data() + start, size), .reason = {}};
  }

  // A Send indication whose DATA value lands exactly on the payload.
  const size_t prefix = wire::kStunHeaderSize + wire::kStunAttributeHeaderSize +
                        wire::address_value_size(peer) + wire::kStunAttributeHeaderSize;
  const size_t start = kTurnSendHeadroom - prefix;
  wire::TransactionId id;
  crypto::random_bytes(id);
  wire::StunBuilder b(buffer.subspan(start), wire::StunMethod::kSend, wire::StunClass::kIndication,
                      id);
  b.add_xor_address(wire::StunAttr::kXorPeerAddress, peer);
  if (!b.reserve(wire::to_u16(wire::StunAttr::kData), length) || !b.ok()) {
    return send_dropped(DropReason::kMalformed);
  }
  return TurnSend{.message = b.bytes(), .reason = {}};
}

}  // namespace tern::core

// The data path, both directions. No allocation and no copy per packet:
// client -> peer hands back a view of the payload inside the client's message;
// peer -> client writes a 4-byte ChannelData header (or a Data indication's
// header) into the headroom the I/O layer leaves in front of the payload.
//
//   client Send indication / ChannelData
//     -> allocation of the 5-tuple (no_allocation) -> bound channel (no_channel)
//     -> peer policy for Send (forbidden_peer) -> permission (no_permission)
//     -> rate limit (rate_limited) -> to the peer from the relayed address
//   peer datagram on a relayed address
//     -> allocation of the address (no_allocation) -> permission (no_permission)
//     -> rate limit (rate_limited) -> ChannelData if a channel is bound to the
//        peer, else a Data indication -> to the client on its 5-tuple
#include "relay/server.hpp"
#include "wire/channel_data.hpp"
#include "wire/stun_attributes.hpp"

namespace tern::relay {

wire::TransactionId RelayServer::next_indication_id() {
  wire::TransactionId id{};
  std::copy(indication_prefix_.begin(), indication_prefix_.end(), id.begin());
  const uint64_t n = ++indication_counter_;
  for (size_t i = 0; i < 8; ++i)
    id[4 + i] = static_cast<uint8_t>(n >> (56 - 8 * i));
  return id;
}

std::optional<Transmit> RelayServer::send_indication(const FiveTuple& t, const wire::StunMessage& m,
                                                     Instant now) {
  Allocation* a = live_allocation(t, now);
  if (!a) return drop(RelayDrop::kNoAllocation);
  const auto peer_attr = m.find(wire::StunAttr::kXorPeerAddress);
  const auto data = m.find(wire::StunAttr::kData);
  const auto peer =
      peer_attr ? wire::decode_xor_address(peer_attr->value, m.transaction_id()) : std::nullopt;
  if (!peer || !data) return drop(RelayDrop::kMalformed);
  if (peer->address.family() != a->family()) return drop(RelayDrop::kPeerFamilyMismatch);
  if (policy_.refusal(peer->address)) return drop(RelayDrop::kForbiddenPeer);
  if (!a->permitted(peer->address, now)) return drop(RelayDrop::kNoPermission);
  if (!a->to_peer.allow(data->value.size(), now)) return drop(RelayDrop::kRateLimited);
  counters_.to_peer.add(data->value.size());
  return Transmit{Transmit::Source::kRelay, Transport::kUdp, a->relayed, *peer, data->value};
}

std::optional<Transmit> RelayServer::channel_data(const FiveTuple& t, Bytes message, Instant now) {
  const auto view = wire::parse_channel_data(message, wire::ChannelRange::kRfc5766);
  if (!view) return drop(RelayDrop::kMalformed);
  Allocation* a = live_allocation(t, now);
  if (!a) return drop(RelayDrop::kNoAllocation);
  const Channel* c = a->channel(view->channel, now);
  if (!c) return drop(RelayDrop::kNoChannel);
  if (!a->permitted(c->peer.address, now)) return drop(RelayDrop::kNoPermission);
  if (!a->to_peer.allow(view->data.size(), now)) return drop(RelayDrop::kRateLimited);
  counters_.to_peer.add(view->data.size());
  return Transmit{Transmit::Source::kRelay, Transport::kUdp, a->relayed, c->peer, view->data};
}

std::optional<Transmit> RelayServer::handle_peer(const Endpoint& relayed, const Endpoint& peer,
                                                 MutableBytes buffer, size_t length, Instant now) {
  if (buffer.size() < kPeerHeadroom + kPeerTailroom ||
      length > buffer.size() - kPeerHeadroom - kPeerTailroom) {
    return drop(RelayDrop::kTooLarge);
  }
  const auto it = by_relay_.find(relayed);
  if (it == by_relay_.end() || it->second->expired(now)) return drop(RelayDrop::kNoAllocation);
  Allocation& a = *it->second;
  if (!a.permitted(peer.address, now)) return drop(RelayDrop::kNoPermission);
  if (!a.to_client.allow(length, now)) return drop(RelayDrop::kRateLimited);

  Bytes out;
  if (const Channel* c = a.channel_to(peer, now)) {
    // §12.5: over TCP/TLS ChannelData is padded to 4; over UDP it need not be.
    const bool pad = a.tuple.transport != Transport::kUdp;
    const size_t start = kPeerHeadroom - wire::kChannelDataHeaderSize;
    if (wire::write_channel_data_header(c->number, length, buffer.subspan(start)) == 0) {
      return drop(RelayDrop::kTooLarge);
    }
    const size_t size = wire::channel_data_size(length, pad);
    std::fill(
        buffer.begin() + static_cast<ptrdiff_t>(start + wire::kChannelDataHeaderSize + length),
        buffer.begin() + static_cast<ptrdiff_t>(start + size), uint8_t{0});
    out = Bytes(buffer.data() + start, size);
  } else {
    const size_t header = wire::kStunHeaderSize + wire::kStunAttributeHeaderSize +
                          wire::address_value_size(peer) + wire::kStunAttributeHeaderSize;
    const size_t start = kPeerHeadroom - header;
    wire::StunBuilder b(buffer.subspan(start), wire::StunMethod::kData,
                        wire::StunClass::kIndication, next_indication_id());
    b.add_xor_address(wire::StunAttr::kXorPeerAddress, peer);
    const auto value = b.reserve(wire::to_u16(wire::StunAttr::kData), length);
    // The value lands exactly on the payload; anything else means it did not fit.
    if (!value || value->data() != buffer.data() + kPeerHeadroom) {
      return drop(RelayDrop::kTooLarge);
    }
    out = b.bytes();
  }
  counters_.to_client.add(length);
  return Transmit{Transmit::Source::kListener, a.tuple.transport, a.tuple.server, a.tuple.client,
                  out};
}

}  // namespace tern::relay

// The inbound path: every datagram is classified, and each early exit is a named,
// counted drop (as the kernel's receive.c).
#include "core/device.hpp"
#include "noise/transport.hpp"
#include "wire/ip_packet.hpp"
#include "wire/path_probe.hpp"

namespace tern::core {
namespace {

ReceiveResult dropped(DropReason reason) {
  ReceiveResult r;
  r.kind = ReceiveResult::Kind::kDropped;
  r.reason = reason;
  return r;
}

ReceiveResult consumed() {
  ReceiveResult r;
  r.kind = ReceiveResult::Kind::kConsumed;
  return r;
}

}  // namespace

void Device::authenticated(Peer& p, const Endpoint& from, size_t bytes, Instant now) {
  // Roaming: only authenticated packets move the endpoint.
  if (p.endpoint != from) {
    if (p.endpoint) emit({DeviceEvent::Kind::kEndpointChanged, p.id, p.endpoint, from, 0});
    p.endpoint = from;
    if (p.current) follow_endpoint(p, now);  // a new path: its MTU is searched afresh
  }
  p.traffic.rx_bytes += bytes;
  p.traffic.rx_packets += 1;
  totals_.rx_bytes += bytes;
  totals_.rx_packets += 1;
  p.timers.any_authenticated_packet_received();
  p.timers.any_authenticated_packet_traversal(now);
}

ReceiveResult Device::receive_datagram(const Endpoint& from_raw, MutableBytes datagram,
                                       Instant now) {
  const Endpoint from{from_raw.address.unmapped(), from_raw.port};
  auto type = wire::classify(datagram);
  if (!type) {
    if (wire::is_path_probe(datagram)) return receive_probe(from, datagram, now);
    drop(DropReason::kMalformed);
    return dropped(DropReason::kMalformed);
  }
  switch (*type) {
    case wire::MessageType::kTransport:
      return receive_transport(from, datagram, now);
    case wire::MessageType::kInitiation:
      return receive_initiation(from, datagram, now);
    case wire::MessageType::kResponse:
      return receive_response(from, datagram, now);
    case wire::MessageType::kCookieReply:
      return receive_cookie_reply(datagram, now);
  }
  drop(DropReason::kMalformed);
  return dropped(DropReason::kMalformed);
}

ReceiveResult Device::receive_transport(const Endpoint& from, MutableBytes datagram, Instant now) {
  auto msg = wire::parse_transport(datagram);
  if (!msg) {
    drop(DropReason::kMalformed);
    return dropped(DropReason::kMalformed);
  }
  auto it = indices_.find(msg->receiver_index);
  Peer* p = it == indices_.end() ? nullptr : peer(it->second);
  Keypair* kp = p ? p->keypair_for_index(msg->receiver_index) : nullptr;
  if (!kp) {
    drop(DropReason::kUnknownIndex);
    return dropped(DropReason::kUnknownIndex);
  }
  if (kp->expired(now)) {
    drop(DropReason::kKeyExpired, p);
    return dropped(DropReason::kKeyExpired);
  }
  if (!kp->replay.would_accept(msg->counter)) {
    drop(DropReason::kReplay, p);
    return dropped(DropReason::kReplay);
  }
  MutableBytes plaintext = datagram.subspan(wire::kTransportHeaderSize);
  auto length = noise::decrypt_transport(kp->keys.recv_key, *msg, plaintext);
  if (!length) {
    drop(DropReason::kDecryptFailed, p);
    return dropped(DropReason::kDecryptFailed);
  }
  // Authenticated: only now may the packet move the window or the endpoint.
  kp->replay.mark(msg->counter);
  authenticated(*p, from, datagram.size(), now);
  if (kp == p->next.get()) {
    promote_next(*p);
    handshake_completed(*p, now);
  }

  // keep_key_fresh on receive: the initiator rekeys shortly before REJECT_AFTER_TIME
  // even if it has nothing to send, so the session does not die under the receiver.
  Keypair* current = p->current.get();
  if (current && current->is_initiator() && !p->sent_lastminute_handshake &&
      now - current->created >= kRejectAfterTime - kKeepaliveTimeout - kRekeyTimeout) {
    p->sent_lastminute_handshake = true;
    send_initiation(*p, now, /*is_retry=*/false);
  }

  if (*length == 0) return consumed();  // keepalive

  auto info = wire::parse_ip_packet(plaintext.first(*length));
  if (!info) {
    drop(DropReason::kMalformed, p);
    return dropped(DropReason::kMalformed);
  }
  const PeerId* owner = allowed_ips_.lookup(info->source);
  if (!owner || *owner != p->id) {
    drop(DropReason::kSourceNotAllowed, p);
    return dropped(DropReason::kSourceNotAllowed);
  }
  p->timers.data_received(now);
  clamp_inbound(*p, plaintext.first(info->total_length));
  ReceiveResult r;
  r.kind = ReceiveResult::Kind::kDeliver;
  r.packet = plaintext.first(info->total_length);
  return r;
}

bool Device::check_macs(const Endpoint& from, Bytes message, Instant now, ReceiveResult& result) {
  const bool loaded = under_load(now);
  switch (cookie_checker_.check(message, from, loaded, now)) {
    case noise::MacCheck::kInvalidMac1:
      drop(DropReason::kInvalidMac1);
      result = dropped(DropReason::kInvalidMac1);
      return false;
    case noise::MacCheck::kValidMacNoCookie:
      if (!loaded) return true;
      {
        // Under load: prove the sender owns its address before any DH.
        Pending reply;
        reply.to = from;
        if (cookie_checker_.create_cookie_reply(message, from, now, reply.data)) {
          reply.length = wire::kCookieReplySize;
          pending_.push_back(reply);
        }
      }
      drop(DropReason::kInvalidMac2);
      result = dropped(DropReason::kInvalidMac2);
      return false;
    case noise::MacCheck::kValidMacWithCookie:
      return true;
  }
  return false;
}

ReceiveResult Device::receive_initiation(const Endpoint& from, MutableBytes datagram, Instant now) {
  ReceiveResult r;
  if (!check_macs(from, datagram, now, r)) return r;
  auto opened = noise::open_initiation(identity_, datagram);
  if (!opened) {
    drop(DropReason::kHandshakeFailed);
    return dropped(DropReason::kHandshakeFailed);
  }
  auto id = find_peer(opened->initiator_static);
  Peer* p = id ? peer(*id) : nullptr;
  if (!p) {
    drop(DropReason::kUnknownPeer);
    return dropped(DropReason::kUnknownPeer);
  }
  auto initiation = p->handshake.consume_initiation(*opened);
  if (!initiation) {
    drop(DropReason::kHandshakeFailed, p);
    return dropped(DropReason::kHandshakeFailed);
  }
  if (p->last_initiation_consumed &&
      now - *p->last_initiation_consumed < kHandshakeInitiationRate) {
    drop(DropReason::kHandshakeFlood, p);
    return dropped(DropReason::kHandshakeFlood);
  }
  if (!p->handshake.accept_timestamp(initiation->timestamp)) {
    drop(DropReason::kHandshakeReplay, p);
    return dropped(DropReason::kHandshakeReplay);
  }
  p->last_initiation_consumed = now;
  authenticated(*p, from, datagram.size(), now);

  // Our own pending initiation, if any, is abandoned: one handshake at a time.
  if (p->handshake_index) release_index(*p->handshake_index);
  p->handshake_index.reset();
  const uint32_t index = allocate_index(p->id);
  Pending response;
  response.to = from;
  auto keys = p->handshake.create_response(*initiation, index, response.data);
  if (!keys) {
    release_index(index);
    drop(DropReason::kHandshakeFailed, p);
    return dropped(DropReason::kHandshakeFailed);
  }
  response.length = wire::kResponseSize;
  p->macs.add_macs(MutableBytes(response.data.data(), response.length), now);
  p->timers.any_authenticated_packet_sent();
  queue_message(*p, response);
  install_keypair(*p, *keys, now);
  return consumed();
}

ReceiveResult Device::receive_response(const Endpoint& from, MutableBytes datagram, Instant now) {
  ReceiveResult r;
  if (!check_macs(from, datagram, now, r)) return r;
  auto msg = wire::parse_response(datagram);
  if (!msg) {
    drop(DropReason::kMalformed);
    return dropped(DropReason::kMalformed);
  }
  auto it = indices_.find(msg->receiver_index);
  Peer* p = it == indices_.end() ? nullptr : peer(it->second);
  if (!p || p->handshake_index != msg->receiver_index) {
    drop(DropReason::kUnexpectedMessage, p);
    return dropped(DropReason::kUnexpectedMessage);
  }
  auto keys = p->handshake.consume_response(*msg);
  if (!keys) {
    drop(DropReason::kHandshakeFailed, p);
    return dropped(DropReason::kHandshakeFailed);
  }
  p->handshake_index.reset();  // the index now names the new session
  authenticated(*p, from, datagram.size(), now);
  install_keypair(*p, *keys, now);
  handshake_completed(*p, now);
  // Confirm the session to the responder at once, with data if some waited.
  if (p->staged.empty()) {
    send_keepalive(*p, now);
  }
  return consumed();
}

ReceiveResult Device::receive_cookie_reply(MutableBytes datagram, Instant now) {
  auto reply = wire::parse_cookie_reply(datagram);
  if (!reply) {
    drop(DropReason::kMalformed);
    return dropped(DropReason::kMalformed);
  }
  auto it = indices_.find(reply->receiver_index);
  Peer* p = it == indices_.end() ? nullptr : peer(it->second);
  if (!p) {
    drop(DropReason::kUnknownIndex);
    return dropped(DropReason::kUnknownIndex);
  }
  if (!p->macs.consume_cookie_reply(*reply, now)) {
    drop(DropReason::kUnexpectedMessage, p);
    return dropped(DropReason::kUnexpectedMessage);
  }
  return consumed();
}

}  // namespace tern::core

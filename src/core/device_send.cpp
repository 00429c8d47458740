// The outbound path: route an IP packet to its peer, encrypt it with the current
// session, or hold it while a handshake is made. Also the messages the device
// originates: initiations and keepalives.
#include <cstring>

#include "core/device.hpp"
#include "noise/transport.hpp"
#include "wire/ip_packet.hpp"
#include "wire/tai64n.hpp"

namespace tern::core {

SendResult Device::send_packet(MutableBytes buffer, size_t length, Instant now) {
  SendResult r;
  if (buffer.size() < kSendHeadroom + length + kSendTailroom) {
    drop(DropReason::kMalformed);
    r.reason = DropReason::kMalformed;
    return r;
  }
  Bytes packet(buffer.data() + kSendHeadroom, length);
  auto destination = wire::ip_destination(packet);
  if (!destination) {
    drop(DropReason::kMalformed);
    r.reason = DropReason::kMalformed;
    return r;
  }
  const PeerId* id = allowed_ips_.lookup(*destination);
  Peer* p = id ? peer(*id) : nullptr;
  if (!p) {
    drop(DropReason::kNoRoute);
    r.reason = DropReason::kNoRoute;
    return r;
  }
  if (!p->endpoint) {
    drop(DropReason::kNoEndpoint, p);
    r.reason = DropReason::kNoEndpoint;
    return r;
  }
  // Over the peer's MTU, or a TCP SYN: the TUN boundary decides (device_boundary.cpp).
  const size_t limit = p->path.overlay_mtu ? p->path.overlay_mtu : mtu_;
  if (auto handled = at_boundary(*p, buffer, length, limit, now)) return *handled;
  Keypair* kp = p->current.get();
  if (kp && kp->can_send(now)) {
    r.kind = SendResult::Kind::kSend;
    r.to = *p->endpoint;
    r.length = encrypt_for(*p, *kp, buffer, length, now);
    return r;
  }
  stage(*p, packet);
  send_initiation(*p, now, /*is_retry=*/false);
  r.kind = SendResult::Kind::kQueued;
  return r;
}

size_t Device::encrypt_for(Peer& p, Keypair& kp, MutableBytes buffer, size_t length, Instant now) {
  // Padding never takes a packet past the peer's MTU: the path may carry exactly that.
  const size_t padded =
      noise::padded_length(length, p.path.overlay_mtu ? p.path.overlay_mtu : mtu_);
  std::memset(buffer.data() + kSendHeadroom + length, 0, padded - length);
  const uint64_t counter = kp.send_counter++;
  const size_t n = noise::encrypt_transport(kp.keys.send_key, kp.keys.remote_index, counter,
                                            Bytes(buffer.data() + kSendHeadroom, padded), buffer);
  count_sent(p, n);
  // The jitter costs a random draw: take it only when the timer will actually be armed.
  if (length > 0 && !p.timers.new_handshake_pending()) p.timers.data_sent(now, jitter());
  if (length > 0) p.path.pmtud.on_data_sent();  // confirmation probes only while data flows
  p.timers.any_authenticated_packet_sent();
  p.timers.any_authenticated_packet_traversal(now);
  keep_key_fresh_on_send(p, kp, now);
  return n;
}

void Device::keep_key_fresh_on_send(Peer& p, const Keypair& kp, Instant now) {
  // Only the initiator of a session rekeys by age, so both sides do not race.
  if (kp.send_counter > kRekeyAfterMessages ||
      (kp.is_initiator() && now - kp.created >= kRekeyAfterTime)) {
    send_initiation(p, now, /*is_retry=*/false);
  }
}

void Device::stage(Peer& p, Bytes packet) {
  if (p.staged.size() >= kMaxStagedPackets) {
    p.staged.pop_front();  // the oldest goes, as in the kernel
    drop(DropReason::kQueueFull, &p);
  }
  p.staged.emplace_back(packet.begin(), packet.end());
}

void Device::send_initiation(Peer& p, Instant now, bool is_retry) {
  if (!is_retry) p.timers.reset_handshake_attempts();
  if (!p.endpoint || !p.handshake.has_valid_static()) return;
  if (p.last_initiation_sent && now - *p.last_initiation_sent < kRekeyTimeout) return;
  p.last_initiation_sent = now;

  if (p.handshake_index) release_index(*p.handshake_index);
  const uint32_t index = allocate_index(p.id);
  p.handshake_index = index;

  Pending m;
  m.to = *p.endpoint;
  if (!p.handshake.create_initiation(index, wire::tai64n_from_wall(wall(now)), m.data)) {
    release_index(index);
    p.handshake_index.reset();
    return;
  }
  m.length = wire::kInitiationSize;
  p.macs.add_macs(MutableBytes(m.data.data(), m.length), now);
  p.timers.any_authenticated_packet_traversal(now);
  p.timers.any_authenticated_packet_sent();
  p.timers.handshake_initiated(now, jitter());
  queue_message(p, m);
}

void Device::send_keepalive(Peer& p, Instant now) {
  if (!p.endpoint) return;
  Keypair* kp = p.current.get();
  if (!kp || !kp->can_send(now)) {
    send_initiation(p, now, /*is_retry=*/false);
    return;
  }
  Pending m;
  m.to = *p.endpoint;
  m.length = encrypt_for(p, *kp, MutableBytes(m.data.data(), m.data.size()), 0, now);
  // encrypt_for counted it as sent; queue_message would count it again.
  pending_.push_back(m);
}

void Device::count_sent(Peer& p, size_t bytes) {
  p.traffic.tx_bytes += bytes;
  p.traffic.tx_packets += 1;
  totals_.tx_bytes += bytes;
  totals_.tx_packets += 1;
}

void Device::on_send_too_big(const Endpoint& to, size_t size, Instant now) {
  Peer* match = nullptr;
  for (auto& [id, p] : peers_) {
    if (p->endpoint == to) match = p.get();
  }
  drop(DropReason::kTooBigForPath, match);
  // A relayed peer's datagrams go to the relay server, framed: not this path.
  if (!match || !pmtud_enabled_ || match->path.endpoint != to || match->path.relay) return;
  const size_t headers = to.address.is_v6() ? kProbeHeadersV6 : kProbeHeadersV4;
  // A local error is a hint, never a size: the search confirms every step with a probe.
  if (match->path.pmtud.on_too_big_locally(size + headers, now)) after_pmtud(*match, now);
}

void Device::queue_message(Peer& p, Pending message) {
  count_sent(p, message.length);
  pending_.push_back(message);
}

std::optional<Transmit> Device::poll_transmit(Instant now) {
  if (!pending_.empty()) {
    // The front element stays alive until the next call: pop it then.
    static_assert(sizeof(Pending) > 0);
    scratch_pending_ = pending_.front();
    pending_.pop_front();
    return Transmit{scratch_pending_.to,
                    Bytes(scratch_pending_.data.data(), scratch_pending_.length)};
  }
  while (!flush_.empty()) {
    Peer* p = peer(flush_.front());
    if (!p || p->staged.empty() || !p->endpoint || !p->current || !p->current->can_send(now)) {
      flush_.pop_front();
      continue;
    }
    std::vector<uint8_t> packet = std::move(p->staged.front());
    p->staged.pop_front();
    std::memcpy(scratch_.data() + kSendHeadroom, packet.data(), packet.size());
    const size_t n = encrypt_for(*p, *p->current, scratch_, packet.size(), now);
    return Transmit{*p->endpoint, Bytes(scratch_.data(), n)};
  }
  if (auto f = next_fragment()) return f;
  return next_probe(now);
}

}  // namespace tern::core

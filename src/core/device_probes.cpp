// Path probes and the PMTU search per peer (docs/path-probes.md, "Use by the PMTU search"):
//   1. a handshake (or roaming) puts the peer on an endpoint: a fresh Pmtud starts at the base
//   2. Pmtud::poll_probe() -> a ping padded to that path MTU, remembered in outstanding_,
//      sent from poll_transmit()
//   3. the peer's pong -> OutstandingProbes::take -> Pmtud::on_probe_acked -> overlay MTU
//   4. the peer's pings -> a 92-byte pong (rate-limited), its announced MTU noted
// A peer that leaves its first round unanswered is a stock WireGuard peer: it keeps the
// configured MTU and is asked again after the raise timer. Every dropped probe is counted.
#include <cstring>

#include "core/device.hpp"
#include "crypto/random.hpp"
#include "wire/path_probe.hpp"

namespace tern::core {
namespace {

uint64_t hint_key(const wire::ProbeHint& hint) {
  uint64_t key = 0;
  std::memcpy(&key, hint.data(), sizeof key);
  return key;
}

ReceiveResult probe_result(std::optional<DropReason> reason) {
  ReceiveResult r;
  r.kind = reason ? ReceiveResult::Kind::kDropped : ReceiveResult::Kind::kConsumed;
  if (reason) r.reason = *reason;
  return r;
}

}  // namespace

void Device::set_mtu(size_t mtu) {
  mtu_ = mtu;
  for (auto& [id, p] : peers_)
    update_overlay_mtu(*p, false);
}

void Device::set_path_mtu_discovery(bool on, Instant now) {
  if (on == pmtud_enabled_) return;
  pmtud_enabled_ = on;
  for (auto& [id, p] : peers_) {
    if (on) {
      if (p->current) follow_endpoint(*p, now);
    } else {
      stop_path(*p);
      p->path.support = ProbeSupport::kUnknown;
      update_overlay_mtu(*p, false);
    }
  }
}

size_t Device::overlay_mtu(PeerId id) const {
  const Peer* p = peer(id);
  return p && p->path.overlay_mtu ? p->path.overlay_mtu : mtu_;
}

void Device::set_relay_leg(PeerId id, std::optional<PathLeg> leg, Instant now) {
  Peer* p = peer(id);
  if (!p || p->path.relay == leg) return;
  p->path.relay = leg;
  // Probe sizes and their pongs depend on the framing: the search starts over on the new leg
  // (a channel binds within a round trip of the first message, so this is early and once).
  if (p->path.endpoint && pmtud_enabled_ && p->current) {
    start_path(*p, now);
  } else {
    update_overlay_mtu(*p, false);
  }
}

void Device::on_relay_send_too_big(const Endpoint& peer, size_t framed_size, Instant now) {
  Peer* match = nullptr;
  for (auto& [id, p] : peers_) {
    if (p->endpoint == peer) match = p.get();
  }
  drop(DropReason::kTooBigForPath, match);
  if (!match || !pmtud_enabled_ || match->path.endpoint != peer || !match->path.relay) return;
  const size_t headers = match->path.relay->outer_v6 ? kProbeHeadersV6 : kProbeHeadersV4;
  if (match->path.pmtud.on_too_big_locally(framed_size + headers, now)) after_pmtud(*match, now);
}

void Device::derive_probe_keys(Peer& p) {
  forget_probe_hint(p);
  if (p.path.keys) p.path.keys->wipe();
  p.path.keys = noise::derive_path_probe_keys(identity_, p.public_key, p.preshared_key);
  if (p.path.keys) probe_hints_[hint_key(p.path.keys->receive_hint)] = p.id;
  update_overlay_mtu(p, false);
}

void Device::forget_probe_hint(const Peer& p) {
  if (!p.path.keys) return;
  auto it = probe_hints_.find(hint_key(p.path.keys->receive_hint));
  if (it != probe_hints_.end() && it->second == p.id) probe_hints_.erase(it);
}

ReceiveResult Device::receive_probe(const Endpoint& from, Bytes datagram, Instant now) {
  auto view = wire::parse_path_probe(datagram);
  if (!view) {  // another version, an unknown type, a bad size
    drop(DropReason::kMalformed);
    return probe_result(DropReason::kMalformed);
  }
  auto it = probe_hints_.find(hint_key(view->header.sender_hint));
  Peer* p = it == probe_hints_.end() ? nullptr : peer(it->second);
  if (!p || !p->path.keys) {
    drop(DropReason::kUnknownPeer);
    return probe_result(DropReason::kUnknownPeer);
  }
  auto opened = noise::open_path_probe(*p->path.keys, datagram, probe_plain_);
  if (!opened) {
    drop(DropReason::kDecryptFailed, p);
    return probe_result(DropReason::kDecryptFailed);
  }
  if (opened->type == wire::ProbeType::kPong) return accept_pong(*p, *opened, now);
  answer_ping(*p, from, *opened, now);
  return probe_result(std::nullopt);
}

void Device::answer_ping(Peer& p, const Endpoint& from, const noise::OpenedPathProbe& ping,
                         Instant now) {
  p.path.probes.pings_received += 1;
  if (ping.body.overlay_mtu != p.path.announced_mtu) {
    p.path.announced_mtu = ping.body.overlay_mtu;
    update_overlay_mtu(p, false);
  }
  // It runs tern after all (it may have started after our round went unanswered).
  if (pmtud_enabled_ && p.path.support == ProbeSupport::kStock && p.current) start_path(p, now);
  if (!p.path.pong_limiter.allow(now)) {
    drop(DropReason::kRateLimited, &p);
    return;
  }
  wire::PathProbeBody body;
  body.tx_id = ping.body.tx_id;
  body.overlay_mtu = static_cast<uint16_t>(std::min<size_t>(mtu_, 65535));
  body.answered_size = static_cast<uint16_t>(ping.size);
  body.observed = from;
  // The smallest pong: never larger than the ping it answers (no amplification).
  Pending pong;
  pong.to = from;
  static_assert(sizeof(pong.data) >= wire::kPathProbeMinSize);
  pong.length = noise::seal_path_probe(*p.path.keys, wire::ProbeType::kPong, body,
                                       wire::kPathProbeMinSize, pong.data);
  if (pong.length == 0) return;
  p.path.probes.pongs_sent += 1;
  pending_.push_back(pong);
}

ReceiveResult Device::accept_pong(Peer& p, const noise::OpenedPathProbe& pong, Instant now) {
  auto entry = outstanding_.take(pong.body.tx_id, now);
  if (!entry) {  // replayed, expired, or never asked for
    drop(DropReason::kUnexpectedMessage, &p);
    return probe_result(DropReason::kUnexpectedMessage);
  }
  if (entry->tag != probe_tag(p) || !p.path.endpoint) {  // a ping to a path left since
    drop(DropReason::kUnexpectedMessage, &p);
    return probe_result(DropReason::kUnexpectedMessage);
  }
  if (pong.body.answered_size != probe_message_size(entry->probe_size, p.path.leg())) {
    drop(DropReason::kMalformed, &p);
    return probe_result(DropReason::kMalformed);
  }
  p.path.probes.pongs_received += 1;
  p.path.announced_mtu = pong.body.overlay_mtu;
  p.path.retry_at.reset();
  if (p.path.support != ProbeSupport::kTern) {
    p.path.support = ProbeSupport::kTern;
    emit({DeviceEvent::Kind::kProbesAnswered, p.id, std::nullopt, p.path.endpoint, 0});
  }
  p.path.pmtud.on_probe_acked(entry->probe_size, now);
  after_pmtud(p, now);
  update_overlay_mtu(p, false);
  return probe_result(std::nullopt);
}

void Device::follow_endpoint(Peer& p, Instant now) {
  if (!pmtud_enabled_ || !p.endpoint || !p.path.keys) return;
  if (p.path.endpoint == p.endpoint) return;
  start_path(p, now);
}

void Device::start_path(Peer& p, Instant now) {
  if (!p.endpoint || !p.path.keys) return;
  stop_path(p);
  PmtudConfig config;
  // A black hole must be left before a TCP sender's backed-off retransmission gives up hope
  // (issue 4: recovery within 5 s): while data flows the size in use is confirmed every
  // second and two lost probes (PROBE_TIMER 1 s, RFC 8899's floor) drop it, within 3 s.
  config.confirmation_timer = std::chrono::seconds(1);
  config.max_probes = 2;
  p.path.endpoint = p.endpoint;
  // No use searching beyond what the largest inner packet needs.
  config.max_mtu = std::min(max_path_mtu_, mtu_ + encapsulation_overhead(p.path.leg()));
  p.path.pmtud = Pmtud(config);
  p.path.pmtud.start(now);
  after_pmtud(p, now);
  update_overlay_mtu(p, false);
}

void Device::stop_path(Peer& p) {
  outstanding_.remove_tag(probe_tag(p));
  p.path.generation += 1;
  p.path.pmtud.disable();
  (void)p.path.pmtud.poll_event();
  p.path.endpoint.reset();
  p.path.probe_due.reset();
  p.path.retry_at.reset();
}

void Device::after_pmtud(Peer& p, Instant now) {
  Pmtud& pmtud = p.path.pmtud;
  if (auto size = pmtud.poll_probe()) {
    if (!p.path.probe_due) probes_due_.push_back(p.id);
    p.path.probe_due = size;
  }
  // A first round at the base went unanswered: the peer does not run tern (or does not
  // reach us): keep the configured MTU and ask again after the raise timer.
  if (pmtud.state() == PmtudState::kError && p.path.support != ProbeSupport::kTern) {
    const bool first = p.path.support == ProbeSupport::kUnknown;
    const std::optional<Endpoint> endpoint = p.path.endpoint;
    const Duration retry = pmtud.config().raise_timer;
    stop_path(p);
    p.path.endpoint = endpoint;  // still this path: roaming elsewhere gives a new chance
    p.path.support = ProbeSupport::kStock;
    p.path.retry_at = now + retry;
    if (first) emit({DeviceEvent::Kind::kProbesUnanswered, p.id, std::nullopt, endpoint, 0});
    update_overlay_mtu(p, false);
    return;
  }
  bool black_hole = false;
  if (auto e = pmtud.poll_event()) {
    const auto& change = std::get<MtuChanged>(*e);
    black_hole = change.new_mtu < change.old_mtu;
  }
  update_overlay_mtu(p, black_hole);
}

void Device::update_overlay_mtu(Peer& p, bool black_hole) {
  const std::optional<size_t> path = p.path.path_mtu();
  const size_t overlay =
      p.path.endpoint ? core::overlay_mtu(mtu_, p.path.announced_mtu, path, p.path.leg())
                      : core::overlay_mtu(mtu_, p.path.announced_mtu, std::nullopt, PathLeg{});
  const size_t path_value = path.value_or(0);
  if (overlay == p.path.overlay_mtu && path_value == p.path.reported_path_mtu) return;
  DeviceEvent e{DeviceEvent::Kind::kPathMtuChanged, p.id, std::nullopt, p.path.endpoint, 0};
  e.old_path_mtu = p.path.reported_path_mtu;
  e.new_path_mtu = path_value;
  e.old_overlay_mtu = p.path.overlay_mtu ? p.path.overlay_mtu : mtu_;
  e.new_overlay_mtu = overlay;
  e.black_hole = black_hole;
  const bool first = p.path.overlay_mtu == 0;
  p.path.overlay_mtu = overlay;
  p.path.reported_path_mtu = path_value;
  if (!first && pmtud_enabled_ &&
      (e.old_overlay_mtu != e.new_overlay_mtu || e.old_path_mtu != e.new_path_mtu)) {
    emit(e);
  }
}

void Device::path_timeouts(Peer& p, Instant now) {
  if (p.current) follow_endpoint(p, now);  // e.g. a new endpoint set by the operator
  if (p.path.retry_at && now >= *p.path.retry_at) {
    p.path.retry_at.reset();
    if (pmtud_enabled_ && p.current) {
      start_path(p, now);
    } else if (pmtud_enabled_) {
      p.path.retry_at = now + p.path.pmtud.config().raise_timer;  // no session now: later
    }
    return;
  }
  auto deadline = p.path.pmtud.poll_timeout();
  if (!deadline || now < *deadline) return;
  p.path.pmtud.handle_timeout(now);
  after_pmtud(p, now);
}

std::optional<Transmit> Device::next_probe(Instant now) {
  while (!probes_due_.empty()) {
    Peer* p = peer(probes_due_.front());
    probes_due_.pop_front();
    if (!p || !p->path.probe_due || !p->path.endpoint || !p->path.keys) continue;
    const size_t path_mtu = *p->path.probe_due;
    p->path.probe_due.reset();
    const size_t size = probe_message_size(path_mtu, p->path.leg());
    if (size == 0) continue;
    wire::PathProbeBody body;
    crypto::random_bytes(body.tx_id);
    body.overlay_mtu = static_cast<uint16_t>(std::min<size_t>(mtu_, 65535));
    const size_t n =
        noise::seal_path_probe(*p->path.keys, wire::ProbeType::kPing, body, size, scratch_);
    if (n == 0) continue;
    outstanding_.add({body.tx_id, probe_tag(*p), path_mtu, now, now + kProbeLifetime});
    p->path.probes.pings_sent += 1;
    return Transmit{*p->path.endpoint, Bytes(scratch_.data(), n)};
  }
  return std::nullopt;
}

}  // namespace tern::core

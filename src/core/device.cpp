// Device configuration, peer bookkeeping, indices, load detection and timers.
// The packet paths are in device_send.cpp, device_receive.cpp and device_sessions.cpp.
#include "core/device.hpp"

#include <algorithm>

#include "crypto/random.hpp"
#include "crypto/x25519.hpp"
#include "wire/path_probe.hpp"

namespace tern::core {

Device::Device(const crypto::Key& private_key)
    : identity_(noise::LocalIdentity::from_private(private_key)),
      cookie_checker_(identity_),
      scratch_(65536 + kSendHeadroom + kSendTailroom),
      probe_plain_(wire::kPathProbeMaxSize) {}

Device::~Device() {
  identity_.wipe();
}

void Device::set_private_key(const crypto::Key& private_key) {
  if (private_key == identity_.private_key) return;
  identity_.wipe();
  identity_ = noise::LocalIdentity::from_private(private_key);
  cookie_checker_.set_local_identity(identity_);
  // Sessions made with the old key are void (as wireguard-go does); a peer that now
  // has our own public key is removed.
  std::vector<PeerId> ids = peer_ids();
  for (PeerId id : ids) {
    Peer* p = peer(id);
    if (p->public_key == identity_.public_key) {
      remove_peer(id);
      continue;
    }
    p->handshake.set_local_identity(identity_);
    clear_keypairs(*p);
    stop_path(*p);
    derive_probe_keys(*p);  // probe keys and hints depend on both static keys
  }
}

std::optional<PeerId> Device::add_peer(const crypto::Key& public_key) {
  if (public_key == identity_.public_key) return std::nullopt;
  if (auto existing = find_peer(public_key)) return existing;
  PeerId id = next_peer_id_++;
  auto [it, inserted] = peers_.emplace(id, std::make_unique<Peer>(id, identity_, public_key));
  derive_probe_keys(*it->second);
  return id;
}

std::optional<PeerId> Device::find_peer(const crypto::Key& public_key) const {
  for (const auto& [id, p] : peers_) {
    if (p->public_key == public_key) return id;
  }
  return std::nullopt;
}

void Device::remove_peer(PeerId id) {
  Peer* p = peer(id);
  if (!p) return;
  clear_keypairs(*p);
  if (p->handshake_index) release_index(*p->handshake_index);
  allowed_ips_.remove(id);
  std::erase(flush_, id);
  std::erase(probes_due_, id);
  forget_probe_hint(*p);
  outstanding_.remove_tag(probe_tag(*p));
  if (p->path.keys) p->path.keys->wipe();
  peers_.erase(id);
}

void Device::remove_all_peers() {
  for (PeerId id : peer_ids())
    remove_peer(id);
}

void Device::set_preshared_key(PeerId id, const crypto::Key& psk) {
  Peer* p = peer(id);
  if (!p) return;
  const bool changed = psk != p->preshared_key;
  p->preshared_key = psk;
  p->handshake.set_preshared_key(psk);
  if (changed) {
    stop_path(*p);
    derive_probe_keys(*p);  // the PSK is mixed into the probe key
  }
}

void Device::set_endpoint(PeerId id, const Endpoint& endpoint) {
  if (Peer* p = peer(id)) p->endpoint = Endpoint{endpoint.address.unmapped(), endpoint.port};
}

void Device::set_persistent_keepalive(PeerId id, uint16_t seconds, Instant now) {
  Peer* p = peer(id);
  if (!p) return;
  const bool was_off = p->persistent_keepalive == 0;
  p->persistent_keepalive = seconds;
  p->timers.set_persistent_keepalive(std::chrono::seconds(seconds));
  if (seconds > 0 && was_off && p->endpoint) send_keepalive(*p, now);
}

void Device::add_allowed_ip(PeerId id, const IpPrefix& prefix) {
  if (peer(id)) allowed_ips_.insert(prefix.masked(), id);
}

void Device::remove_allowed_ip(PeerId id, const IpPrefix& prefix) {
  allowed_ips_.remove(prefix.masked(), id);
}

void Device::clear_allowed_ips(PeerId id) {
  allowed_ips_.remove(id);
}

std::vector<PeerId> Device::peer_ids() const {
  std::vector<PeerId> ids;
  ids.reserve(peers_.size());
  for (const auto& [id, p] : peers_)
    ids.push_back(id);
  std::sort(ids.begin(), ids.end());
  return ids;
}

std::optional<PeerInfo> Device::peer_info(PeerId id) const {
  const Peer* p = peer(id);
  if (!p) return std::nullopt;
  PeerInfo info;
  info.id = id;
  info.public_key = p->public_key;
  info.preshared_key = p->preshared_key;
  info.endpoint = p->endpoint;
  info.last_handshake = p->last_handshake;
  info.persistent_keepalive = p->persistent_keepalive;
  info.allowed_ips = allowed_ips_.prefixes(id);
  info.traffic = p->traffic;
  info.drops = p->drops;
  info.path_mtu = p->path.path_mtu();
  info.overlay_mtu = overlay_mtu(id);
  info.pmtud_state = p->path.pmtud.state();
  info.probe_support = p->path.support;
  info.announced_mtu = p->path.announced_mtu;
  info.probes = p->path.probes;
  info.boundary = p->path.boundary;
  return info;
}

std::optional<Endpoint> Device::endpoint(PeerId id) const {
  const Peer* p = peer(id);
  return p ? p->endpoint : std::nullopt;
}

Peer* Device::peer(PeerId id) {
  auto it = peers_.find(id);
  return it == peers_.end() ? nullptr : it->second.get();
}

const Peer* Device::peer(PeerId id) const {
  auto it = peers_.find(id);
  return it == peers_.end() ? nullptr : it->second.get();
}

void Device::drop(DropReason reason, Peer* p) {
  drops_.add(reason);
  if (p) p->drops.add(reason);
}

void Device::emit(DeviceEvent e) {
  if (events_.size() >= kMaxEvents) events_.pop_front();
  events_.push_back(e);
}

std::optional<DeviceEvent> Device::poll_event() {
  if (events_.empty()) return std::nullopt;
  DeviceEvent e = events_.front();
  events_.pop_front();
  return e;
}

void Device::count_drop(DropReason reason, const std::optional<Endpoint>& to) {
  Peer* match = nullptr;
  if (to) {
    for (auto& [id, p] : peers_) {
      if (p->endpoint == to) match = p.get();
    }
  }
  drop(reason, match);
}

Duration Device::jitter() {
  return Duration(crypto::random_uniform(static_cast<uint32_t>(kRekeyTimeoutJitterMax.count())));
}

bool Device::under_load(Instant now) {
  if (forced_under_load_) return true;
  if (now - load_window_start_ >= std::chrono::seconds(1)) {
    load_window_start_ = now;
    load_window_count_ = 0;
  }
  if (++load_window_count_ > kUnderLoadHandshakesPerSecond)
    under_load_until_ = now + kUnderLoadTime;
  return under_load_until_ && now < *under_load_until_;
}

uint32_t Device::allocate_index(PeerId id) {
  for (;;) {
    uint32_t index = crypto::random_u32();
    if (indices_.emplace(index, id).second) return index;
  }
}

void Device::release_index(uint32_t index) {
  indices_.erase(index);
}

std::optional<Instant> Device::poll_timeout() const {
  std::optional<Instant> next;
  for (const auto& [id, p] : peers_) {
    for (auto d : {p->timers.next_deadline(), p->path.pmtud.poll_timeout(), p->path.retry_at}) {
      if (d && (!next || *d < *next)) next = d;
    }
  }
  return next;
}

void Device::handle_timeout(Instant now) {
  for (PeerId id : peer_ids()) {
    while (Peer* p = peer(id)) {
      auto action = p->timers.poll_expired(now);
      if (!action) break;
      on_timer(*p, *action, now);
    }
    if (Peer* p = peer(id)) path_timeouts(*p, now);
  }
}

void Device::on_timer(Peer& p, TimerAction action, Instant now) {
  switch (action) {
    case TimerAction::kRetransmitHandshake:
      if (p.timers.handshake_attempts() > kMaxTimerHandshakes) {
        // REKEY_ATTEMPT_TIME is over: give up and drop what waited for a session.
        for (size_t i = 0; i < p.staged.size(); ++i)
          drop(DropReason::kHandshakeTimeout, &p);
        emit({DeviceEvent::Kind::kHandshakeAbandoned, p.id, std::nullopt, p.endpoint,
              p.staged.size()});
        p.staged.clear();
        p.handshake.clear();
        if (p.handshake_index) release_index(*p.handshake_index);
        p.handshake_index.reset();
        p.timers.handshake_abandoned(now);
      } else {
        p.timers.count_handshake_attempt();
        send_initiation(p, now, /*is_retry=*/true);
      }
      break;
    case TimerAction::kSendKeepalive:
    case TimerAction::kPersistentKeepalive:
      send_keepalive(p, now);
      break;
    case TimerAction::kNewHandshake:
      // Data went unanswered for KEEPALIVE_TIMEOUT + REKEY_TIMEOUT.
      send_initiation(p, now, /*is_retry=*/false);
      break;
    case TimerAction::kZeroKeyMaterial:
      if (p.current || p.previous || p.next) {
        emit({DeviceEvent::Kind::kKeysZeroed, p.id, std::nullopt, std::nullopt, 0});
      }
      clear_keypairs(p);
      p.handshake.clear();
      break;
  }
}

}  // namespace tern::core

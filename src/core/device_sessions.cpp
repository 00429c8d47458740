// Session rotation (previous / current / next, as the kernel's noise.c) and what
// happens when a handshake completes.
#include "core/device.hpp"

namespace tern::core {

void Device::install_keypair(Peer& p, const noise::SessionKeys& keys, Instant now) {
  auto kp = std::make_unique<Keypair>();
  kp->keys = keys;
  kp->created = now;
  auto release = [this](std::unique_ptr<Keypair>& k) {
    if (k) release_index(k->keys.local_index);
    k.reset();
  };
  if (keys.is_initiator) {
    // The initiator may use the session at once. An unconfirmed responder
    // session is kept as previous so late packets on it still decrypt.
    if (p.next) {
      release(p.previous);
      p.previous = std::move(p.next);
      release(p.current);
    } else {
      release(p.previous);
      p.previous = std::move(p.current);
    }
    p.current = std::move(kp);
  } else {
    // The responder waits for the initiator's first data message (key confirmation).
    release(p.next);
    p.next = std::move(kp);
    release(p.previous);
  }
  p.sent_lastminute_handshake = false;
  p.timers.session_derived(now);
}

void Device::promote_next(Peer& p) {
  if (p.previous) release_index(p.previous->keys.local_index);
  p.previous = std::move(p.current);
  p.current = std::move(p.next);
}

void Device::clear_keypairs(Peer& p) {
  for (auto* k : {&p.previous, &p.current, &p.next}) {
    if (*k) release_index((*k)->keys.local_index);
    k->reset();
  }
}

void Device::handshake_completed(Peer& p, Instant now) {
  emit({DeviceEvent::Kind::kHandshakeCompleted, p.id, std::nullopt, p.endpoint, 0});
  p.timers.handshake_complete();
  p.last_handshake = wall(now);
  if (!p.staged.empty()) flush_.push_back(p.id);
  follow_endpoint(p, now);
}

}  // namespace tern::core

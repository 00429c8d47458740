#include "core/peer_timers.hpp"

#include "core/wireguard_constants.hpp"

namespace tern::core {

void PeerTimers::data_sent(Instant now, Duration jitter) {
  if (!pending(TimerAction::kNewHandshake)) {
    slot(TimerAction::kNewHandshake) = now + kKeepaliveTimeout + kRekeyTimeout + jitter;
  }
}

void PeerTimers::data_received(Instant now) {
  if (!pending(TimerAction::kSendKeepalive)) {
    slot(TimerAction::kSendKeepalive) = now + kKeepaliveTimeout;
  } else {
    need_another_keepalive_ = true;
  }
}

void PeerTimers::any_authenticated_packet_sent() {
  slot(TimerAction::kSendKeepalive).reset();
}

void PeerTimers::any_authenticated_packet_received() {
  slot(TimerAction::kNewHandshake).reset();
}

void PeerTimers::any_authenticated_packet_traversal(Instant now) {
  if (persistent_interval_ > Duration::zero()) {
    slot(TimerAction::kPersistentKeepalive) = now + persistent_interval_;
  }
}

void PeerTimers::handshake_initiated(Instant now, Duration jitter) {
  slot(TimerAction::kRetransmitHandshake) = now + kRekeyTimeout + jitter;
}

void PeerTimers::handshake_complete() {
  slot(TimerAction::kRetransmitHandshake).reset();
  handshake_attempts_ = 0;
}

void PeerTimers::session_derived(Instant now) {
  slot(TimerAction::kZeroKeyMaterial) = now + 3 * kRejectAfterTime;
}

void PeerTimers::handshake_abandoned(Instant now) {
  slot(TimerAction::kSendKeepalive).reset();
  need_another_keepalive_ = false;
  if (!pending(TimerAction::kZeroKeyMaterial)) {
    slot(TimerAction::kZeroKeyMaterial) = now + 3 * kRejectAfterTime;
  }
}

void PeerTimers::stop_all() {
  for (auto& d : deadlines_)
    d.reset();
  need_another_keepalive_ = false;
  handshake_attempts_ = 0;
}

std::optional<Instant> PeerTimers::next_deadline() const {
  std::optional<Instant> next;
  for (const auto& d : deadlines_) {
    if (d && (!next || *d < *next)) next = d;
  }
  return next;
}

std::optional<TimerAction> PeerTimers::poll_expired(Instant now) {
  for (size_t i = 0; i < kTimerCount; ++i) {
    if (deadlines_[i] && *deadlines_[i] <= now) {
      deadlines_[i].reset();
      auto action = static_cast<TimerAction>(i);
      if (action == TimerAction::kSendKeepalive && need_another_keepalive_) {
        // Data kept arriving while the timer ran: keep answering it.
        need_another_keepalive_ = false;
        slot(TimerAction::kSendKeepalive) = now + kKeepaliveTimeout;
      }
      return action;
    }
  }
  return std::nullopt;
}

}  // namespace tern::core

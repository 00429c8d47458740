// The WireGuard timer state machine of one peer (whitepaper §6, the kernel's
// timers.c). The rest of the device only reports events ("data sent", "any
// authenticated packet received", ...); this class turns them into deadlines
// and says which action is due. No clock reads: `now` is passed in.
//
// Timers:
//   retransmit_handshake  REKEY_TIMEOUT + jitter after an initiation; resend it,
//                         give up after REKEY_ATTEMPT_TIME.
//   send_keepalive        KEEPALIVE_TIMEOUT after data arrives with nothing sent back.
//   new_handshake         KEEPALIVE_TIMEOUT + REKEY_TIMEOUT + jitter after data is sent
//                         with nothing received back: the session may be dead.
//   zero_key_material     3 * REJECT_AFTER_TIME after a session is derived.
//   persistent_keepalive  the configured interval after any authenticated packet.
#pragma once

#include <array>
#include <cstdint>
#include <optional>

#include "base/time.hpp"

namespace tern::core {

enum class TimerAction : uint8_t {
  kRetransmitHandshake,
  kSendKeepalive,
  kNewHandshake,
  kZeroKeyMaterial,
  kPersistentKeepalive,
};

class PeerTimers {
 public:
  void set_persistent_keepalive(Duration interval) { persistent_interval_ = interval; }
  Duration persistent_keepalive() const { return persistent_interval_; }

  // Event hooks, named as in the kernel's timers.c. `jitter` is a random duration in
  // [0, REKEY_TIMEOUT_JITTER_MAX) chosen by the caller.
  void data_sent(Instant now, Duration jitter);
  void data_received(Instant now);
  void any_authenticated_packet_sent();
  void any_authenticated_packet_received();
  void any_authenticated_packet_traversal(Instant now);
  void handshake_initiated(Instant now, Duration jitter);
  void handshake_complete();
  void session_derived(Instant now);
  // REKEY_ATTEMPT_TIME passed without a handshake: stop answering with keepalives
  // and make sure the stale keys are zeroed (kernel: wg_expired_retransmit_handshake).
  void handshake_abandoned(Instant now);
  // The peer was removed: nothing is due any more.
  void stop_all();

  // Number of initiations sent since the last completed handshake.
  unsigned handshake_attempts() const { return handshake_attempts_; }
  void count_handshake_attempt() { ++handshake_attempts_; }
  void reset_handshake_attempts() { handshake_attempts_ = 0; }

  bool new_handshake_pending() const { return pending(TimerAction::kNewHandshake); }

  std::optional<Instant> next_deadline() const;
  // Returns one action whose deadline is <= now and disarms it; call until nullopt.
  std::optional<TimerAction> poll_expired(Instant now);

 private:
  static constexpr size_t kTimerCount = 5;
  std::optional<Instant>& slot(TimerAction a) { return deadlines_[static_cast<size_t>(a)]; }
  bool pending(TimerAction a) const { return deadlines_[static_cast<size_t>(a)].has_value(); }

  std::array<std::optional<Instant>, kTimerCount> deadlines_{};
  Duration persistent_interval_{0};
  unsigned handshake_attempts_ = 0;
  bool need_another_keepalive_ = false;
};

}  // namespace tern::core

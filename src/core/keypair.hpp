// One transport session with a peer: the keys a handshake derived, the send
// counter, the anti-replay window of the receive side, and its age.
#pragma once

#include <cstdint>

#include "base/time.hpp"
#include "core/wireguard_constants.hpp"
#include "noise/replay_window.hpp"
#include "noise/session_keys.hpp"

namespace tern::core {

struct Keypair {
  noise::SessionKeys keys;
  Instant created{};
  uint64_t send_counter = 0;
  noise::ReplayWindow replay;

  bool is_initiator() const { return keys.is_initiator; }
  // Past REJECT_AFTER_TIME nothing is sent or accepted with this session.
  bool expired(Instant now) const { return now >= created + kRejectAfterTime; }
  bool can_send(Instant now) const { return !expired(now) && send_counter < kRejectAfterMessages; }
};

}  // namespace tern::core

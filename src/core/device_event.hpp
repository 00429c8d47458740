// What happened in the device that an operator may want to know, in order:
// the agent logs these, and later layers (path selection, the doctor) read
// them. Packets are not events; drops are counters.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>

#include "base/ip.hpp"
#include "core/peer.hpp"

namespace tern::core {

struct DeviceEvent {
  enum class Kind : uint8_t {
    kHandshakeCompleted,  // a new session with the peer is in use
    kEndpointChanged,     // the peer's address moved (roaming, NAT rebinding, path change)
    kHandshakeAbandoned,  // no handshake completed in REKEY_ATTEMPT_TIME; waiting packets dropped
    kKeysZeroed,          // 3 * REJECT_AFTER_TIME without a session: keys erased
    kPathMtuChanged,      // the path MTU found by probes, or the overlay MTU, changed
    kProbesAnswered,      // the peer answered a path probe: it runs tern
    kProbesUnanswered,    // a round of probes went unanswered: stock WireGuard, MTU as configured
  };
  Kind kind;
  PeerId peer = 0;
  std::optional<Endpoint> old_endpoint;  // kEndpointChanged
  std::optional<Endpoint> endpoint;      // kEndpointChanged, kHandshakeCompleted
  uint64_t dropped = 0;                  // kHandshakeAbandoned: staged packets dropped
  // kPathMtuChanged: path MTUs (0 = not known), overlay MTUs, and whether the path shrank
  // because probes of the size in use went unanswered (a black hole).
  size_t old_path_mtu = 0;
  size_t new_path_mtu = 0;
  size_t old_overlay_mtu = 0;
  size_t new_overlay_mtu = 0;
  bool black_hole = false;
};

}  // namespace tern::core

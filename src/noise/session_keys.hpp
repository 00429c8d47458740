// The result of a completed handshake: the two transport keys of a new session and
// the indices that name it on the wire.
#pragma once

#include <cstdint>

#include "crypto/key.hpp"

namespace tern::noise {

struct SessionKeys {
  crypto::Key send_key{};
  crypto::Key recv_key{};
  uint32_t local_index = 0;   // receiver index the peer puts on messages to us
  uint32_t remote_index = 0;  // receiver index we put on messages to the peer
  // The initiator may send at once; the responder waits for the first transport
  // message from the initiator before using the session (key confirmation).
  bool is_initiator = false;

  SessionKeys() = default;
  SessionKeys(const SessionKeys&) = default;
  SessionKeys& operator=(const SessionKeys&) = default;
  ~SessionKeys() { wipe(); }
  void wipe();
};

}  // namespace tern::noise

// Our own static identity for the Noise handshake, with the values derived from it
// once rather than per handshake: the handshake hash after our public key is mixed
// in (used when we are the responder) and the mac1 / cookie keys of the DoS layer.
#pragma once

#include "crypto/key.hpp"

namespace tern::noise {

// Noise_IKpsk2 protocol name and WireGuard's prologue (whitepaper §5.4).
inline constexpr char kConstruction[] = "Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s";
inline constexpr char kIdentifier[] = "WireGuard v1 zx2c4 Jason@zx2c4.com";
inline constexpr char kLabelMac1[] = "mac1----";
inline constexpr char kLabelCookie[] = "cookie--";

// Ci = HASH(construction); Hi = HASH(Ci || identifier). Computed once.
const crypto::Key& initial_chaining_key();
const crypto::Key& initial_hash();

// HASH(label || public_key): the mac1 key (label "mac1----") or cookie
// encryption key (label "cookie--") of the peer owning `public_key`.
[[nodiscard]] crypto::Key label_key(const char* label, const crypto::Key& public_key);

struct LocalIdentity {
  crypto::Key private_key{};
  crypto::Key public_key{};
  // HASH(Hi || public_key): the responder's handshake hash before the initiation.
  crypto::Key responder_hash{};
  // HASH("mac1----" || public_key): checks mac1 of messages sent to us.
  crypto::Key mac1_key{};
  // HASH("cookie--" || public_key): encrypts the cookie replies we send.
  crypto::Key cookie_key{};

  // `private_key` is used as given (callers pass a clamped key; X25519 clamps anyway).
  [[nodiscard]] static LocalIdentity from_private(const crypto::Key& private_key);
  void wipe();
};

}  // namespace tern::noise

// Curve25519 Diffie-Hellman (RFC 7748) via libsodium: WireGuard's static and
// ephemeral keys and the DH() of the Noise handshake.
#pragma once

#include <optional>

#include "crypto/key.hpp"

namespace tern::crypto {

// A fresh random private key, clamped (RFC 7748 §5) as `wg genkey` does.
[[nodiscard]] Key generate_private_key();
// Clamps a 32-byte scalar: clears bits 0-2 and 255, sets bit 254.
[[nodiscard]] Key clamp_private_key(Key k);
// The public key of a private key (scalar multiplication of the base point).
[[nodiscard]] Key public_key_from_private(const Key& private_key);
// X25519(priv, pub). nullopt when the result is all zeros, i.e. `pub` is a
// low-order point: the handshake must fail rather than derive a known key.
[[nodiscard]] std::optional<Key> dh(const Key& private_key, const Key& public_key);

}  // namespace tern::crypto

// Authenticated encryption via libsodium. ChaCha20-Poly1305 (RFC 8439) with
// WireGuard's nonce (32 zero bits then the 64-bit counter, little-endian) is the
// data-plane cipher: no allocation, no setup per call. XChaCha20-Poly1305 (24-byte
// random nonce) encrypts cookie replies.
//
// Output is ciphertext || 16-byte tag. In place is allowed when `out` starts at
// exactly the same address as the input; partial overlap is not.
#pragma once

#include <array>
#include <cstdint>

#include "base/bytes.hpp"
#include "crypto/key.hpp"

namespace tern::crypto {

inline constexpr size_t kAeadTagSize = 16;
inline constexpr size_t kXNonceSize = 24;
using XNonce = std::array<uint8_t, kXNonceSize>;

// Writes plaintext.size() + 16 bytes to out; false (nothing written) if out is too small.
[[nodiscard]] bool aead_seal(const Key& key, uint64_t counter, Bytes plaintext, Bytes ad,
                             MutableBytes out);
// Writes ciphertext.size() - 16 bytes to out; false if too short, out too small or the
// tag does not verify (then `out` holds no plaintext).
[[nodiscard]] bool aead_open(const Key& key, uint64_t counter, Bytes ciphertext, Bytes ad,
                             MutableBytes out);

[[nodiscard]] bool xaead_seal(const Key& key, const XNonce& nonce, Bytes plaintext, Bytes ad,
                              MutableBytes out);
[[nodiscard]] bool xaead_open(const Key& key, const XNonce& nonce, Bytes ciphertext, Bytes ad,
                              MutableBytes out);

}  // namespace tern::crypto

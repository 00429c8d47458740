// BLAKE2s (RFC 7693) through OpenSSL 3 EVP: WireGuard's HASH, HMAC and MAC and
// the HKDF-style KDF1..3 of the whitepaper §5.4. Handshake path only; each thread
// keeps one reusable context per primitive, so calls do not allocate.
#pragma once

#include <array>
#include <cstdint>

#include "base/bytes.hpp"
#include "crypto/key.hpp"

namespace tern::crypto {

inline constexpr size_t kHashSize = 32;
inline constexpr size_t kMacSize = 16;
using Mac = std::array<uint8_t, kMacSize>;

// HASH(a || b): BLAKE2s-256 of the concatenation (b may be empty).
[[nodiscard]] Key hash(Bytes a, Bytes b = {});
// HMAC(key, a || b) with BLAKE2s-256 as the hash (RFC 2104).
[[nodiscard]] Key hmac(Bytes key, Bytes a, Bytes b = {});
// MAC(key, data): keyed BLAKE2s with a 16-byte output; key is 1..32 bytes
// (an empty key is rejected by BLAKE2s; callers always pass 16 or 32 bytes).
[[nodiscard]] Mac mac(Bytes key, Bytes data);

// KDFn(key, input), whitepaper §5.4:
//   t0 = HMAC(key, input), t1 = HMAC(t0, 0x1), t(i) = HMAC(t0, t(i-1) || i).
// `key` is the chaining key (any length for HMAC); outputs may alias it, as the
// chaining key is usually replaced in place.
void kdf1(Key& t1, Bytes key, Bytes input);
void kdf2(Key& t1, Key& t2, Bytes key, Bytes input);
void kdf3(Key& t1, Key& t2, Key& t3, Bytes key, Bytes input);

}  // namespace tern::crypto

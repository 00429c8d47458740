// HMAC-SHA1 and HMAC-SHA256 (RFC 2104) through OpenSSL 3's EVP_MAC "HMAC", for
// STUN's MESSAGE-INTEGRITY / MESSAGE-INTEGRITY-SHA256 (RFC 8489 §14.5-14.6) and
// the TURN REST API password (base64 of HMAC-SHA1(secret, username)). The MAC is
// fetched once; each thread keeps one context per digest, so calls do not allocate.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <initializer_list>

#include "base/bytes.hpp"

namespace tern::crypto {

inline constexpr size_t kSha1Size = 20;
inline constexpr size_t kSha256Size = 32;
using Sha1Digest = std::array<uint8_t, kSha1Size>;
using Sha256Digest = std::array<uint8_t, kSha256Size>;

// HMAC(key, parts[0] || parts[1] || ...); any key length, including empty.
[[nodiscard]] Sha1Digest hmac_sha1(Bytes key, std::initializer_list<Bytes> parts);
[[nodiscard]] Sha256Digest hmac_sha256(Bytes key, std::initializer_list<Bytes> parts);

}  // namespace tern::crypto

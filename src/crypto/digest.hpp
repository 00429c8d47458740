// Plain digests through OpenSSL 3 EVP, for STUN long-term credentials (RFC 8489
// §9.2.2): the key is MD5 or SHA-256 of "username:realm:password", and USERHASH
// is SHA-256 of "username:realm". MD5 here is a key derivation the RFC fixes for
// interoperability, not a choice of ours.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <initializer_list>

#include "base/bytes.hpp"
#include "crypto/hmac_sha.hpp"

namespace tern::crypto {

inline constexpr size_t kMd5Size = 16;
using Md5Digest = std::array<uint8_t, kMd5Size>;

// Digest of parts[0] || parts[1] || ...
[[nodiscard]] Md5Digest md5(std::initializer_list<Bytes> parts);
[[nodiscard]] Sha256Digest sha256(std::initializer_list<Bytes> parts);

}  // namespace tern::crypto

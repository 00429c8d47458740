// Bearer secrets of the control server: setup keys ("tsk_..."), admin tokens ("tat_...")
// and agents' stream tokens ("tpt_..."). 32 random bytes, base64url; the server keeps only a lookup
// handle (the first characters, not secret enough to use) and the SHA-256 of the whole text,
// compared in constant time. A plain hash suffices: the secret has 256 bits of entropy.
#pragma once

#include <string>
#include <string_view>

#include "crypto/hmac_sha.hpp"

namespace tern::control {

inline constexpr std::string_view kSetupKeyPrefix = "tsk_";
inline constexpr std::string_view kAdminTokenPrefix = "tat_";
inline constexpr std::string_view kStreamTokenPrefix = "tpt_";
// Characters after the prefix kept in clear to find the record.
inline constexpr size_t kLookupLength = 8;
// Longest secret text looked at; anything longer is wrong without hashing it.
inline constexpr size_t kMaxSecretLength = 128;

// prefix + base64url (no padding) of 32 fresh random bytes.
[[nodiscard]] std::string generate_secret(std::string_view prefix);
// The clear handle of a secret text ("tsk_" + 8 characters), or "" for text of the wrong shape.
[[nodiscard]] std::string secret_lookup(std::string_view text, std::string_view prefix);
[[nodiscard]] crypto::Sha256Digest hash_secret(std::string_view text);
// Constant time in the contents of the stored hash.
[[nodiscard]] bool secret_matches(const crypto::Sha256Digest& stored, std::string_view text);

}  // namespace tern::control

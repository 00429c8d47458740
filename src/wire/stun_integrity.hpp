// STUN message authentication (RFC 8489): MESSAGE-INTEGRITY (HMAC-SHA1, §14.5),
// MESSAGE-INTEGRITY-SHA256 (§14.6), the long-term credential key (§9.2.2) and
// USERHASH (§14.4). A MAC covers the message up to its own attribute with the
// header's length set as if that attribute were the last, so attributes added
// after it (the other MAC, FINGERPRINT) do not change it. The builder side is
// StunBuilder::add_message_integrity*, defined in the .cpp.
#pragma once

#include <cstdint>
#include <string_view>

#include "base/bytes.hpp"
#include "crypto/digest.hpp"
#include "crypto/hmac_sha.hpp"
#include "wire/stun.hpp"
#include "wire/stun_attributes.hpp"

namespace tern::wire {

inline constexpr size_t kStunIntegritySize = 20;
inline constexpr size_t kStunIntegritySha256Size = 32;

[[nodiscard]] StunCheck check_message_integrity(const StunMessage& m, Bytes key);
// Accepts a value truncated to 16..28 bytes, as §14.6 allows.
[[nodiscard]] StunCheck check_message_integrity_sha256(const StunMessage& m, Bytes key);

// Long-term key = MD5 / SHA-256 of "username:realm:password" (§9.2.2). The caller
// passes the strings already prepared (OpaqueString, RFC 8265); tern's own
// credentials are ASCII, where that is the identity. Short-term credentials use
// the password itself as the key.
[[nodiscard]] crypto::Md5Digest stun_long_term_key_md5(std::string_view username,
                                                       std::string_view realm,
                                                       std::string_view password);
[[nodiscard]] crypto::Sha256Digest stun_long_term_key_sha256(std::string_view username,
                                                             std::string_view realm,
                                                             std::string_view password);
// USERHASH = SHA-256("username:realm") (§14.4).
[[nodiscard]] Userhash stun_userhash(std::string_view username, std::string_view realm);

}  // namespace tern::wire

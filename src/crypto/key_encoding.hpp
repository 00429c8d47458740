// Text forms of a 32-byte key: base64 (44 characters, '=' padded) as `wg` prints
// keys and wg-quick files hold them, and lowercase hex (64 characters) as the
// WireGuard UAPI protocol carries them. Encoding and decoding are libsodium's.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "base/result.hpp"
#include "crypto/key.hpp"

namespace tern::crypto {

inline constexpr size_t kKeyBase64Length = 44;
inline constexpr size_t kKeyHexLength = 64;

[[nodiscard]] std::string key_to_base64(const Key& key);
[[nodiscard]] std::string key_to_hex(const Key& key);

// The error message says what is wrong with the text (it never repeats the
// text: it may be a private key).
[[nodiscard]] Result<Key> key_from_base64(std::string_view text);
// Accepts upper- and lowercase hex digits, as wireguard-go does.
[[nodiscard]] Result<Key> key_from_hex(std::string_view text);

}  // namespace tern::crypto

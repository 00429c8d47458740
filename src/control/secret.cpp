#include "control/secret.hpp"

#include <sodium.h>

#include <array>

#include "crypto/digest.hpp"
#include "crypto/memory.hpp"
#include "crypto/random.hpp"
#include "crypto/sodium.hpp"

namespace tern::control {
namespace {

Bytes as_bytes(std::string_view s) {
  return Bytes(reinterpret_cast<const uint8_t*>(s.data()), s.size());
}

bool is_base64url_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_';
}

}  // namespace

std::string generate_secret(std::string_view prefix) {
  (void)crypto::ensure_sodium();
  std::array<uint8_t, 32> raw{};
  crypto::random_bytes(raw);
  std::array<char, sodium_base64_ENCODED_LEN(32, sodium_base64_VARIANT_URLSAFE_NO_PADDING)> text{};
  sodium_bin2base64(text.data(), text.size(), raw.data(), raw.size(),
                    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  crypto::secure_wipe(raw);
  std::string out(prefix);
  out += text.data();
  crypto::secure_wipe(text);
  return out;
}

std::string secret_lookup(std::string_view text, std::string_view prefix) {
  if (!text.starts_with(prefix) || text.size() < prefix.size() + kLookupLength ||
      text.size() > kMaxSecretLength) {
    return {};
  }
  for (char c : text.substr(prefix.size())) {
    if (!is_base64url_char(c)) return {};
  }
  return std::string(text.substr(0, prefix.size() + kLookupLength));
}

crypto::Sha256Digest hash_secret(std::string_view text) {
  return crypto::sha256({as_bytes(text)});
}

bool secret_matches(const crypto::Sha256Digest& stored, std::string_view text) {
  if (text.size() > kMaxSecretLength) return false;
  const auto presented = hash_secret(text);
  return crypto::equal_ct(stored, presented);
}

}  // namespace tern::control

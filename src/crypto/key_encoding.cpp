#include "crypto/key_encoding.hpp"

#include <sodium.h>

namespace tern::crypto {
namespace {

// The codecs below are pure functions, but libsodium asks for sodium_init()
// before any of its calls; a function-local static makes that once and thread-safe.
void init_sodium_once() {
  static const bool ready = sodium_init() >= 0;
  (void)ready;
}

}  // namespace

std::string key_to_base64(const Key& key) {
  init_sodium_once();
  char out[kKeyBase64Length + 1];
  sodium_bin2base64(out, sizeof out, key.data(), key.size(), sodium_base64_VARIANT_ORIGINAL);
  return std::string(out, kKeyBase64Length);
}

std::string key_to_hex(const Key& key) {
  init_sodium_once();
  char out[kKeyHexLength + 1];
  sodium_bin2hex(out, sizeof out, key.data(), key.size());
  return std::string(out, kKeyHexLength);
}

Result<Key> key_from_base64(std::string_view text) {
  init_sodium_once();
  if (text.size() != kKeyBase64Length || text.back() != '=' || text[kKeyBase64Length - 2] == '=') {
    return fail("a WireGuard key is 44 base64 characters ending in '=' (as `wg genkey` prints); " +
                std::string("this one has ") + std::to_string(text.size()) + " characters");
  }
  Key key{};
  size_t len = 0;
  const char* end = nullptr;
  if (sodium_base642bin(key.data(), key.size(), text.data(), text.size(), nullptr, &len, &end,
                        sodium_base64_VARIANT_ORIGINAL) != 0 ||
      len != key.size() || end != text.data() + text.size()) {
    sodium_memzero(key.data(), key.size());
    return fail(
        "a WireGuard key is 44 base64 characters ending in '=' (A-Z, a-z, 0-9, '+', '/'); this one "
        "has other characters or is not a key `wg` could have written");
  }
  return key;
}

Result<Key> key_from_hex(std::string_view text) {
  init_sodium_once();
  if (text.size() != kKeyHexLength) {
    return fail("a key in hex is 64 hex digits; this one has " + std::to_string(text.size()) +
                " characters");
  }
  Key key{};
  size_t len = 0;
  const char* end = nullptr;
  if (sodium_hex2bin(key.data(), key.size(), text.data(), text.size(), nullptr, &len, &end) != 0 ||
      len != key.size() || end != text.data() + text.size()) {
    sodium_memzero(key.data(), key.size());
    return fail("a key in hex is 64 hex digits (0-9, a-f); this one has other characters");
  }
  return key;
}

}  // namespace tern::crypto

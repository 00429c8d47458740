#include "crypto/x25519.hpp"

#include <sodium.h>

#include "crypto/memory.hpp"
#include "crypto/random.hpp"
#include "crypto/sodium.hpp"

namespace tern::crypto {

Key generate_private_key() {
  Key k;
  random_bytes(k);
  return clamp_private_key(k);
}

Key clamp_private_key(Key k) {
  k[0] &= 248;
  k[31] = static_cast<uint8_t>((k[31] & 127) | 64);
  return k;
}

Key public_key_from_private(const Key& private_key) {
  ensure_sodium();
  Key pub;
  crypto_scalarmult_curve25519_base(pub.data(), private_key.data());
  return pub;
}

std::optional<Key> dh(const Key& private_key, const Key& public_key) {
  ensure_sodium();
  Key shared;
  // libsodium already returns -1 for an all-zero result; the explicit check keeps the
  // guarantee independent of the library version.
  if (crypto_scalarmult_curve25519(shared.data(), private_key.data(), public_key.data()) != 0 ||
      is_zero_ct(shared)) {
    secure_wipe(shared);
    return std::nullopt;
  }
  return shared;
}

}  // namespace tern::crypto

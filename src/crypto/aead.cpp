#include "crypto/aead.hpp"

#include <sodium.h>

#include "crypto/sodium.hpp"

namespace tern::crypto {
namespace {

static_assert(crypto_aead_chacha20poly1305_IETF_NPUBBYTES == 12);
static_assert(crypto_aead_chacha20poly1305_IETF_ABYTES == kAeadTagSize);
static_assert(crypto_aead_xchacha20poly1305_IETF_NPUBBYTES == kXNonceSize);
static_assert(crypto_aead_xchacha20poly1305_IETF_ABYTES == kAeadTagSize);

using Nonce = std::array<uint8_t, 12>;

// 32 zero bits, then the counter little-endian (whitepaper §5.4).
Nonce wireguard_nonce(uint64_t counter) {
  Nonce n{};
  for (size_t i = 0; i < 8; ++i)
    n[4 + i] = static_cast<uint8_t>(counter >> (8 * i));
  return n;
}

}  // namespace

bool aead_seal(const Key& key, uint64_t counter, Bytes plaintext, Bytes ad, MutableBytes out) {
  if (out.size() < plaintext.size() || out.size() - plaintext.size() < kAeadTagSize) return false;
  ensure_sodium();
  const Nonce nonce = wireguard_nonce(counter);
  crypto_aead_chacha20poly1305_ietf_encrypt_detached(
      out.data(), out.data() + plaintext.size(), nullptr, plaintext.data(), plaintext.size(),
      ad.data(), ad.size(), nullptr, nonce.data(), key.data());
  return true;
}

bool aead_open(const Key& key, uint64_t counter, Bytes ciphertext, Bytes ad, MutableBytes out) {
  if (ciphertext.size() < kAeadTagSize) return false;
  const size_t n = ciphertext.size() - kAeadTagSize;
  if (out.size() < n) return false;
  ensure_sodium();
  const Nonce nonce = wireguard_nonce(counter);
  return crypto_aead_chacha20poly1305_ietf_decrypt_detached(
             out.data(), nullptr, ciphertext.data(), n, ciphertext.data() + n, ad.data(), ad.size(),
             nonce.data(), key.data()) == 0;
}

bool xaead_seal(const Key& key, const XNonce& nonce, Bytes plaintext, Bytes ad, MutableBytes out) {
  if (out.size() < plaintext.size() || out.size() - plaintext.size() < kAeadTagSize) return false;
  ensure_sodium();
  crypto_aead_xchacha20poly1305_ietf_encrypt_detached(
      out.data(), out.data() + plaintext.size(), nullptr, plaintext.data(), plaintext.size(),
      ad.data(), ad.size(), nullptr, nonce.data(), key.data());
  return true;
}

bool xaead_open(const Key& key, const XNonce& nonce, Bytes ciphertext, Bytes ad, MutableBytes out) {
  if (ciphertext.size() < kAeadTagSize) return false;
  const size_t n = ciphertext.size() - kAeadTagSize;
  if (out.size() < n) return false;
  ensure_sodium();
  return crypto_aead_xchacha20poly1305_ietf_decrypt_detached(
             out.data(), nullptr, ciphertext.data(), n, ciphertext.data() + n, ad.data(), ad.size(),
             nonce.data(), key.data()) == 0;
}

}  // namespace tern::crypto

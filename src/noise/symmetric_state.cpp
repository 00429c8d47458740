#include "noise/symmetric_state.hpp"

#include "crypto/aead.hpp"
#include "crypto/blake2s.hpp"
#include "crypto/memory.hpp"
#include "crypto/x25519.hpp"

namespace tern::noise {

SymmetricState::~SymmetricState() {
  crypto::secure_wipe(ck_);
  crypto::secure_wipe(h_);
}

void SymmetricState::mix_hash(Bytes data) {
  h_ = crypto::hash(h_, data);
}

void SymmetricState::mix_ephemeral(const crypto::Key& ephemeral_public) {
  crypto::kdf1(ck_, ck_, ephemeral_public);
  mix_hash(ephemeral_public);
}

bool SymmetricState::mix_dh(const crypto::Key& priv, const crypto::Key& pub) {
  auto shared = crypto::dh(priv, pub);
  if (!shared) return false;
  crypto::kdf1(ck_, ck_, *shared);
  crypto::secure_wipe(*shared);
  return true;
}

bool SymmetricState::mix_dh(const crypto::Key& priv, const crypto::Key& pub, crypto::Key& key) {
  auto shared = crypto::dh(priv, pub);
  if (!shared) return false;
  mix_key(*shared, key);
  crypto::secure_wipe(*shared);
  return true;
}

void SymmetricState::mix_key(Bytes input, crypto::Key& key) {
  crypto::kdf2(ck_, key, ck_, input);
}

void SymmetricState::mix_psk(const crypto::Key& psk, crypto::Key& key) {
  crypto::Key tau;
  crypto::kdf3(ck_, tau, key, ck_, psk);
  mix_hash(tau);
  crypto::secure_wipe(tau);
}

void SymmetricState::encrypt_and_hash(const crypto::Key& key, Bytes plaintext, MutableBytes out) {
  // Sizes are fixed by the message layouts, so this cannot fail.
  (void)crypto::aead_seal(key, 0, plaintext, h_, out);
  mix_hash(out.first(plaintext.size() + crypto::kAeadTagSize));
}

bool SymmetricState::decrypt_and_hash(const crypto::Key& key, Bytes ciphertext, MutableBytes out) {
  if (!crypto::aead_open(key, 0, ciphertext, h_, out)) return false;
  mix_hash(ciphertext);
  return true;
}

void SymmetricState::split(crypto::Key& initiator_send, crypto::Key& initiator_recv) const {
  crypto::kdf2(initiator_send, initiator_recv, ck_, {});
}

}  // namespace tern::noise

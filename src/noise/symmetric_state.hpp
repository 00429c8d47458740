// The Noise symmetric state (chaining key ck and handshake hash h) with the
// operations the WireGuard handshake is written in (whitepaper §5.4.2-5.4.3).
// Internal to noise/; wipes itself on destruction.
#pragma once

#include "base/bytes.hpp"
#include "crypto/key.hpp"

namespace tern::noise {

class SymmetricState {
 public:
  SymmetricState(const crypto::Key& chaining_key, const crypto::Key& hash)
      : ck_(chaining_key), h_(hash) {}
  SymmetricState(const SymmetricState&) = delete;
  SymmetricState& operator=(const SymmetricState&) = delete;
  ~SymmetricState();

  const crypto::Key& chaining_key() const { return ck_; }
  const crypto::Key& hash() const { return h_; }

  // h = HASH(h || data)
  void mix_hash(Bytes data);
  // The "e" token: ck = KDF1(ck, e_pub); h = HASH(h || e_pub).
  void mix_ephemeral(const crypto::Key& ephemeral_public);
  // ck = KDF1(ck, DH(priv, pub)); false (state untouched) when the DH is all zeros.
  [[nodiscard]] bool mix_dh(const crypto::Key& priv, const crypto::Key& pub);
  // (ck, key) = KDF2(ck, DH(priv, pub)); false when the DH is all zeros.
  [[nodiscard]] bool mix_dh(const crypto::Key& priv, const crypto::Key& pub, crypto::Key& key);
  // (ck, key) = KDF2(ck, input): for a DH result computed earlier (ss).
  void mix_key(Bytes input, crypto::Key& key);
  // The "psk" token: (ck, tau, key) = KDF3(ck, psk); h = HASH(h || tau).
  void mix_psk(const crypto::Key& psk, crypto::Key& key);
  // out = AEAD(key, 0, plaintext, h); h = HASH(h || out). out has plaintext + 16 bytes.
  void encrypt_and_hash(const crypto::Key& key, Bytes plaintext, MutableBytes out);
  // out = AEAD-open(key, 0, ciphertext, h); h = HASH(h || ciphertext) on success.
  [[nodiscard]] bool decrypt_and_hash(const crypto::Key& key, Bytes ciphertext, MutableBytes out);
  // (initiator send = responder receive, initiator receive = responder send) = KDF2(ck, ε).
  void split(crypto::Key& initiator_send, crypto::Key& initiator_recv) const;

 private:
  crypto::Key ck_;
  crypto::Key h_;
};

}  // namespace tern::noise

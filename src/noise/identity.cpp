#include "noise/identity.hpp"

#include <cstring>

#include "base/bytes.hpp"
#include "crypto/blake2s.hpp"
#include "crypto/memory.hpp"
#include "crypto/x25519.hpp"
#include "noise/session_keys.hpp"

namespace tern::noise {
namespace {

Bytes text(const char* s) {
  return Bytes(reinterpret_cast<const uint8_t*>(s), std::strlen(s));
}

}  // namespace

const crypto::Key& initial_chaining_key() {
  static const crypto::Key ck = crypto::hash(text(kConstruction));
  return ck;
}

const crypto::Key& initial_hash() {
  static const crypto::Key h = crypto::hash(initial_chaining_key(), text(kIdentifier));
  return h;
}

crypto::Key label_key(const char* label, const crypto::Key& public_key) {
  return crypto::hash(text(label), public_key);
}

LocalIdentity LocalIdentity::from_private(const crypto::Key& private_key) {
  LocalIdentity id;
  id.private_key = private_key;
  id.public_key = crypto::public_key_from_private(private_key);
  id.responder_hash = crypto::hash(initial_hash(), id.public_key);
  id.mac1_key = label_key(kLabelMac1, id.public_key);
  id.cookie_key = label_key(kLabelCookie, id.public_key);
  return id;
}

void LocalIdentity::wipe() {
  crypto::secure_wipe(private_key);
}

void SessionKeys::wipe() {
  crypto::secure_wipe(send_key);
  crypto::secure_wipe(recv_key);
}

}  // namespace tern::noise

#include "noise/handshake.hpp"

#include <algorithm>

#include "crypto/blake2s.hpp"
#include "crypto/memory.hpp"
#include "crypto/x25519.hpp"
#include "noise/symmetric_state.hpp"

namespace tern::noise {
namespace {

using crypto::Key;

// Field offsets of the messages (wire/wireguard.hpp has the diagrams).
constexpr size_t kInitSenderOffset = 4;
constexpr size_t kInitEphemeralOffset = 8;
constexpr size_t kInitStaticOffset = 40;
constexpr size_t kInitTimestampOffset = 88;
constexpr size_t kRespSenderOffset = 4;
constexpr size_t kRespReceiverOffset = 8;
constexpr size_t kRespEphemeralOffset = 12;
constexpr size_t kRespEmptyOffset = 44;

constexpr size_t kEncryptedStaticSize = 32 + wire::kAuthTagSize;
constexpr size_t kEncryptedTimestampSize = wire::kTai64nSize + wire::kAuthTagSize;

void put_u32_le(MutableBytes out, size_t offset, uint32_t v) {
  for (size_t i = 0; i < 4; ++i)
    out[offset + i] = static_cast<uint8_t>(v >> (8 * i));
}

template <size_t N>
void copy_out(MutableBytes out, size_t offset, const std::array<uint8_t, N>& v) {
  std::copy(v.begin(), v.end(), out.begin() + static_cast<ptrdiff_t>(offset));
}

template <size_t N>
std::array<uint8_t, N> copy_in(Bytes msg, size_t offset) {
  std::array<uint8_t, N> v;
  std::copy_n(msg.begin() + static_cast<ptrdiff_t>(offset), N, v.begin());
  return v;
}

// The secrets of one handshake step, wiped on every exit path.
struct Scratch {
  Key ephemeral_private{};
  Key key{};
  Key plain_static{};
  ~Scratch() {
    crypto::secure_wipe(ephemeral_private);
    crypto::secure_wipe(key);
    crypto::secure_wipe(plain_static);
  }
};

}  // namespace

void OpenedInitiation::wipe() {
  crypto::secure_wipe(remote_ephemeral);
  crypto::secure_wipe(chaining_key);
  crypto::secure_wipe(hash);
}

void ConsumedInitiation::wipe() {
  crypto::secure_wipe(remote_ephemeral);
  crypto::secure_wipe(chaining_key);
  crypto::secure_wipe(hash);
}

std::optional<OpenedInitiation> open_initiation(const LocalIdentity& local, Bytes msg) {
  if (wire::classify(msg) != wire::MessageType::kInitiation) return std::nullopt;
  Scratch s;
  SymmetricState st(initial_chaining_key(), local.responder_hash);
  OpenedInitiation out;
  out.sender_index = *wire::sender_index_of(msg);
  // e
  out.remote_ephemeral = copy_in<32>(msg, kInitEphemeralOffset);
  st.mix_ephemeral(out.remote_ephemeral);
  // es
  if (!st.mix_dh(local.private_key, out.remote_ephemeral, s.key)) return std::nullopt;
  // s
  if (!st.decrypt_and_hash(s.key, msg.subspan(kInitStaticOffset, kEncryptedStaticSize),
                           out.initiator_static)) {
    return std::nullopt;
  }
  out.encrypted_timestamp = copy_in<kEncryptedTimestampSize>(msg, kInitTimestampOffset);
  out.chaining_key = st.chaining_key();
  out.hash = st.hash();
  return out;
}

Handshake::Handshake(const LocalIdentity& local, const Key& remote_static, const Key& preshared_key)
    : local_(local), remote_static_(remote_static), preshared_key_(preshared_key) {
  precompute_static_static();
}

Handshake::~Handshake() {
  clear();
  local_.wipe();
  crypto::secure_wipe(preshared_key_);
  crypto::secure_wipe(static_static_);
}

void Handshake::precompute_static_static() {
  initiator_hash_base_ = crypto::hash(initial_hash(), remote_static_);
  auto ss = crypto::dh(local_.private_key, remote_static_);
  static_static_valid_ = ss.has_value();
  static_static_ = ss.value_or(Key{});
  if (ss) crypto::secure_wipe(*ss);
}

void Handshake::set_local_identity(const LocalIdentity& local) {
  clear();
  local_.wipe();
  local_ = local;
  precompute_static_static();
}

void Handshake::set_preshared_key(const Key& preshared_key) {
  preshared_key_ = preshared_key;
}

void Handshake::clear() {
  pending_initiation_ = false;
  local_index_ = 0;
  crypto::secure_wipe(ephemeral_private_);
  crypto::secure_wipe(chaining_key_);
  crypto::secure_wipe(hash_);
}

bool Handshake::create_initiation(uint32_t local_index, const wire::Tai64n& now, MutableBytes out) {
  Scratch s;
  s.ephemeral_private = crypto::generate_private_key();
  return create_initiation(local_index, now, out, s.ephemeral_private);
}

bool Handshake::create_initiation(uint32_t local_index, const wire::Tai64n& now, MutableBytes out,
                                  const Key& ephemeral_private) {
  clear();
  if (out.size() < wire::kInitiationSize || !static_static_valid_) return false;
  out = out.first(wire::kInitiationSize);
  std::fill(out.begin(), out.end(), uint8_t{0});
  out[0] = wire::kMessageInitiation;
  put_u32_le(out, kInitSenderOffset, local_index);

  Scratch s;
  SymmetricState st(initial_chaining_key(), initiator_hash_base_);
  // e
  const Key ephemeral_public = crypto::public_key_from_private(ephemeral_private);
  copy_out(out, kInitEphemeralOffset, ephemeral_public);
  st.mix_ephemeral(ephemeral_public);
  // es
  if (!st.mix_dh(ephemeral_private, remote_static_, s.key)) return false;
  // s
  st.encrypt_and_hash(s.key, local_.public_key, out.subspan(kInitStaticOffset));
  // ss (precomputed DH)
  st.mix_key(static_static_, s.key);
  // {t}
  st.encrypt_and_hash(s.key, now.bytes, out.subspan(kInitTimestampOffset));

  pending_initiation_ = true;
  local_index_ = local_index;
  ephemeral_private_ = ephemeral_private;
  chaining_key_ = st.chaining_key();
  hash_ = st.hash();
  return true;
}

std::optional<SessionKeys> Handshake::consume_response(const wire::Response& msg) {
  if (!pending_initiation_ || msg.receiver_index != local_index_) return std::nullopt;
  Scratch s;
  SymmetricState st(chaining_key_, hash_);
  // e
  st.mix_ephemeral(msg.ephemeral);
  // ee
  if (!st.mix_dh(ephemeral_private_, msg.ephemeral)) return std::nullopt;
  // se
  if (!st.mix_dh(local_.private_key, msg.ephemeral)) return std::nullopt;
  // psk
  st.mix_psk(preshared_key_, s.key);
  // {}
  std::array<uint8_t, 0> nothing{};
  if (!st.decrypt_and_hash(s.key, msg.encrypted_nothing, nothing)) return std::nullopt;

  SessionKeys keys;
  st.split(keys.send_key, keys.recv_key);
  keys.local_index = local_index_;
  keys.remote_index = msg.sender_index;
  keys.is_initiator = true;
  clear();
  return keys;
}

std::optional<ConsumedInitiation> Handshake::consume_initiation(
    const OpenedInitiation& opened) const {
  if (!static_static_valid_ || !crypto::equal_ct(opened.initiator_static, remote_static_)) {
    return std::nullopt;
  }
  Scratch s;
  SymmetricState st(opened.chaining_key, opened.hash);
  ConsumedInitiation out;
  // ss (precomputed DH)
  st.mix_key(static_static_, s.key);
  // {t}
  if (!st.decrypt_and_hash(s.key, opened.encrypted_timestamp, out.timestamp.bytes)) {
    return std::nullopt;
  }
  out.sender_index = opened.sender_index;
  out.initiator_static = opened.initiator_static;
  out.remote_ephemeral = opened.remote_ephemeral;
  out.chaining_key = st.chaining_key();
  out.hash = st.hash();
  return out;
}

bool Handshake::accept_timestamp(const wire::Tai64n& t) {
  if (t <= latest_timestamp_) return false;
  latest_timestamp_ = t;
  return true;
}

std::optional<SessionKeys> Handshake::create_response(const ConsumedInitiation& initiation,
                                                      uint32_t local_index, MutableBytes out) {
  Scratch s;
  s.ephemeral_private = crypto::generate_private_key();
  return create_response(initiation, local_index, out, s.ephemeral_private);
}

std::optional<SessionKeys> Handshake::create_response(const ConsumedInitiation& initiation,
                                                      uint32_t local_index, MutableBytes out,
                                                      const Key& ephemeral_private) {
  if (out.size() < wire::kResponseSize ||
      !crypto::equal_ct(initiation.initiator_static, remote_static_)) {
    return std::nullopt;
  }
  clear();
  out = out.first(wire::kResponseSize);
  std::fill(out.begin(), out.end(), uint8_t{0});
  out[0] = wire::kMessageResponse;
  put_u32_le(out, kRespSenderOffset, local_index);
  put_u32_le(out, kRespReceiverOffset, initiation.sender_index);

  Scratch s;
  SymmetricState st(initiation.chaining_key, initiation.hash);
  // e
  const Key ephemeral_public = crypto::public_key_from_private(ephemeral_private);
  copy_out(out, kRespEphemeralOffset, ephemeral_public);
  st.mix_ephemeral(ephemeral_public);
  // ee
  if (!st.mix_dh(ephemeral_private, initiation.remote_ephemeral)) return std::nullopt;
  // se
  if (!st.mix_dh(ephemeral_private, remote_static_)) return std::nullopt;
  // psk
  st.mix_psk(preshared_key_, s.key);
  // {}
  st.encrypt_and_hash(s.key, {}, out.subspan(kRespEmptyOffset));

  SessionKeys keys;
  st.split(keys.recv_key, keys.send_key);
  keys.local_index = local_index;
  keys.remote_index = initiation.sender_index;
  keys.is_initiator = false;
  return keys;
}

}  // namespace tern::noise

#include "wire/stun_integrity.hpp"

#include <algorithm>
#include <array>

#include "crypto/memory.hpp"
#include "wire/stun_builder.hpp"

namespace tern::wire {
namespace {

uint16_t read_u16(Bytes b, size_t at) {
  return static_cast<uint16_t>((b[at] << 8) | b[at + 1]);
}

// The header as the MAC at `offset` saw it: its length ends with that attribute.
std::array<uint8_t, kStunHeaderSize> header_for(Bytes message, size_t offset) {
  std::array<uint8_t, kStunHeaderSize> h;
  std::copy_n(message.begin(), kStunHeaderSize, h.begin());
  const size_t value_len = read_u16(message, offset + 2);
  const size_t length = offset + kStunAttributeHeaderSize + value_len - kStunHeaderSize;
  h[2] = static_cast<uint8_t>(length >> 8);
  h[3] = static_cast<uint8_t>(length);
  return h;
}

template <class Mac>
StunCheck check_mac(const StunMessage& m, std::optional<size_t> offset, Mac mac) {
  if (!offset) return StunCheck::kAbsent;
  const Bytes msg = m.bytes();
  const auto header = header_for(msg, *offset);
  const Bytes covered = msg.subspan(kStunHeaderSize, *offset - kStunHeaderSize);
  const size_t value_len = read_u16(msg, *offset + 2);
  const auto expected = mac(Bytes(header), covered);
  const Bytes got = msg.subspan(*offset + kStunAttributeHeaderSize, value_len);
  return crypto::equal_ct(got, Bytes(expected).first(value_len)) ? StunCheck::kValid
                                                                 : StunCheck::kInvalid;
}

template <class Digest>
Digest digest_of(Digest (*fn)(std::initializer_list<Bytes>), std::string_view a, std::string_view b,
                 std::string_view c) {
  static constexpr uint8_t kColon = ':';
  const Bytes colon(&kColon, 1);
  return fn({as_bytes(a), colon, as_bytes(b), colon, as_bytes(c)});
}

}  // namespace

StunCheck check_message_integrity(const StunMessage& m, Bytes key) {
  return check_mac(m, m.integrity_offset(), [&](Bytes header, Bytes covered) {
    return crypto::hmac_sha1(key, {header, covered});
  });
}

StunCheck check_message_integrity_sha256(const StunMessage& m, Bytes key) {
  return check_mac(m, m.integrity_sha256_offset(), [&](Bytes header, Bytes covered) {
    return crypto::hmac_sha256(key, {header, covered});
  });
}

crypto::Md5Digest stun_long_term_key_md5(std::string_view username, std::string_view realm,
                                         std::string_view password) {
  return digest_of(&crypto::md5, username, realm, password);
}

crypto::Sha256Digest stun_long_term_key_sha256(std::string_view username, std::string_view realm,
                                               std::string_view password) {
  return digest_of(&crypto::sha256, username, realm, password);
}

Userhash stun_userhash(std::string_view username, std::string_view realm) {
  static constexpr uint8_t kColon = ':';
  return crypto::sha256({as_bytes(username), Bytes(&kColon, 1), as_bytes(realm)});
}

// The builder's side: reserve the attribute first, so the header's length
// already includes it, then MAC everything before it.
StunBuilder& StunBuilder::add_message_integrity(Bytes key) {
  const size_t offset = size_;
  if (auto v = reserve(to_u16(StunAttr::kMessageIntegrity), kStunIntegritySize)) {
    const auto mac = crypto::hmac_sha1(key, {Bytes(out_.data(), offset)});
    std::copy(mac.begin(), mac.end(), v->begin());
  }
  return *this;
}

StunBuilder& StunBuilder::add_message_integrity_sha256(Bytes key) {
  const size_t offset = size_;
  if (auto v = reserve(to_u16(StunAttr::kMessageIntegritySha256), kStunIntegritySha256Size)) {
    const auto mac = crypto::hmac_sha256(key, {Bytes(out_.data(), offset)});
    std::copy(mac.begin(), mac.end(), v->begin());
  }
  return *this;
}

}  // namespace tern::wire

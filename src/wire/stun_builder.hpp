// Writes a STUN message into a caller-owned buffer, attribute by attribute,
// without allocating. The header's length field is kept current after every
// attribute, so bytes() is a valid message at any point. A write that does not
// fit (or exceeds the 16-bit lengths) turns ok() false and leaves the message as
// it was before that write.
//
//   uint8_t buf[kStunMaxUdpMessage];
//   StunBuilder b(buf, StunMethod::kAllocate, StunClass::kRequest, tid);
//   b.add_requested_transport().add_text(StunAttr::kUsername, user)
//    .add_text(StunAttr::kRealm, realm).add_text(StunAttr::kNonce, nonce)
//    .add_message_integrity(key).add_fingerprint();
//   if (auto msg = b.finish()) send(*msg);
//
// MESSAGE-INTEGRITY(-SHA256) and FINGERPRINT cover what was written before them,
// so they come last, in that order (RFC 8489 §14.5-14.7).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "base/bytes.hpp"
#include "base/ip.hpp"
#include "wire/stun.hpp"
#include "wire/stun_attributes.hpp"

namespace tern::wire {

// A buffer this size holds any message tern sends over UDP (IPv6 minimum MTU).
inline constexpr size_t kStunMaxUdpMessage = 1280;

class StunBuilder {
 public:
  StunBuilder(MutableBytes out, uint16_t type, const TransactionId& id);
  StunBuilder(MutableBytes out, StunMethod method, StunClass cls, const TransactionId& id)
      : StunBuilder(out, stun_message_type(method, cls), id) {}

  // Padding is zero (RFC 8489 §14); other values only reproduce foreign
  // messages byte for byte (RFC 5769's samples pad with spaces).
  void set_padding_byte(uint8_t b) { pad_ = b; }

  // Any attribute with its raw value.
  StunBuilder& add(uint16_t type, Bytes value);
  StunBuilder& add(StunAttr type, Bytes value) { return add(to_u16(type), value); }
  // Starts an attribute of `size` value bytes, padding written, and returns where
  // the value goes, so a payload (DATA) can be written in place; nullopt if it
  // does not fit.
  [[nodiscard]] std::optional<MutableBytes> reserve(uint16_t type, size_t size);

  StunBuilder& add_text(StunAttr type, std::string_view text);
  StunBuilder& add_data(Bytes data) { return add(StunAttr::kData, data); }
  // MAPPED-ADDRESS, OTHER-ADDRESS, RESPONSE-ORIGIN, ALTERNATE-SERVER.
  StunBuilder& add_address(StunAttr type, const Endpoint& e);
  // XOR-MAPPED-ADDRESS, XOR-PEER-ADDRESS, XOR-RELAYED-ADDRESS.
  StunBuilder& add_xor_address(StunAttr type, const Endpoint& e);
  StunBuilder& add_error_code(uint16_t code, std::string_view reason);
  StunBuilder& add_unknown_attributes(std::span<const uint16_t> types);
  StunBuilder& add_lifetime(uint32_t seconds) { return add_u32(StunAttr::kLifetime, seconds); }
  StunBuilder& add_requested_transport(uint8_t protocol = kProtocolUdp);
  // REQUESTED-ADDRESS-FAMILY (or, with the type given, ADDITIONAL-ADDRESS-FAMILY).
  StunBuilder& add_address_family(IpAddress::Family family,
                                  StunAttr type = StunAttr::kRequestedAddressFamily);
  StunBuilder& add_channel_number(uint16_t channel);
  StunBuilder& add_change_request(ChangeRequest r);
  StunBuilder& add_dont_fragment() { return add(StunAttr::kDontFragment, {}); }
  StunBuilder& add_userhash(const Userhash& h) { return add(StunAttr::kUserhash, h); }
  StunBuilder& add_password_algorithms(std::span<const PasswordAlgorithm> algorithms);
  StunBuilder& add_password_algorithm(const PasswordAlgorithm& algorithm);
  StunBuilder& add_u32(StunAttr type, uint32_t value);

  // Defined in stun_integrity.cpp. The key is the short-term password or the
  // long-term key (stun_long_term_key_*); -SHA256 writes the full 32 bytes.
  StunBuilder& add_message_integrity(Bytes key);
  StunBuilder& add_message_integrity_sha256(Bytes key);
  // Defined in stun_fingerprint.cpp.
  StunBuilder& add_fingerprint();

  bool ok() const { return ok_; }
  size_t size() const { return size_; }
  const TransactionId& transaction_id() const { return id_; }
  Bytes bytes() const { return Bytes(out_.data(), size_); }
  // The message, or nullopt if any write failed.
  [[nodiscard]] std::optional<Bytes> finish() const;

 private:
  void set_length(size_t attributes_size);
  StunBuilder& add_algorithms(uint16_t type, std::span<const PasswordAlgorithm> algorithms);

  MutableBytes out_;
  TransactionId id_;
  size_t size_ = 0;
  bool ok_ = true;
  uint8_t pad_ = 0;
};

}  // namespace tern::wire

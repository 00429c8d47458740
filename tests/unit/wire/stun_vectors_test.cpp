// The published STUN test vectors (tests/vectors/): RFC 5769 §2.1-2.4 and RFC
// 8489 Appendix B.1 (errata 6268). Each must parse, verify (integrity and
// fingerprint), and come out byte for byte when built again from its parts.
#include <gtest/gtest.h>

#include <array>
#include <vector>

#include "stun_test_util.hpp"
#include "wire/stun.hpp"
#include "wire/stun_attributes.hpp"
#include "wire/stun_builder.hpp"
#include "wire/stun_fingerprint.hpp"
#include "wire/stun_integrity.hpp"

namespace tern::wire {
namespace {

using test::hex;
using test::load_vector;
using test::text_bytes;

constexpr std::string_view kShortTermPassword = "VOkJxbRl1RmTxUk/WvJxBt";
constexpr std::string_view kLongTermUser =
    "\xe3\x83\x9e\xe3\x83\x88\xe3\x83\xaa\xe3\x83\x83\xe3\x82\xaf\xe3\x82\xb9";

StunMessage parse_ok(const std::vector<uint8_t>& bytes) {
  auto m = StunMessage::parse(bytes);
  EXPECT_TRUE(m.has_value()) << (m ? "" : stun_parse_error_name(m.error()));
  return m.value();
}

std::string text_of(const StunMessage& m, StunAttr a) {
  auto attr = m.find(a);
  return attr ? std::string(as_text(attr->value)) : std::string("<absent>");
}

// Builds `m` again from its attributes: plain ones copied, the integrity
// attributes recomputed with `key`, FINGERPRINT recomputed.
std::vector<uint8_t> rebuild(const StunMessage& m, Bytes key, uint8_t pad) {
  std::vector<uint8_t> out(kStunMaxUdpMessage);
  StunBuilder b(out, m.type(), m.transaction_id());
  b.set_padding_byte(pad);
  for (const StunAttribute& a : m) {
    if (a.is(StunAttr::kMessageIntegrity)) {
      b.add_message_integrity(key);
    } else if (a.is(StunAttr::kMessageIntegritySha256)) {
      b.add_message_integrity_sha256(key);
    } else if (a.is(StunAttr::kFingerprint)) {
      b.add_fingerprint();
    } else {
      b.add(a.type, a.value);
    }
  }
  auto bytes = b.finish();
  EXPECT_TRUE(bytes.has_value());
  return bytes ? std::vector<uint8_t>(bytes->begin(), bytes->end()) : std::vector<uint8_t>{};
}

TEST(Rfc5769, SampleRequest) {
  const auto bytes = load_vector("rfc5769/sample_request.hex");
  ASSERT_EQ(bytes.size(), 108u);
  const StunMessage m = parse_ok(bytes);
  EXPECT_TRUE(m.is(StunMethod::kBinding, StunClass::kRequest));
  EXPECT_EQ(hex(m.transaction_id()), "b7e7a701bc34d686fa87dfae");
  EXPECT_EQ(text_of(m, StunAttr::kSoftware), "STUN test client");
  EXPECT_EQ(text_of(m, StunAttr::kUsername), "evtj:h6vY");
  auto priority = m.find(0x0024);
  ASSERT_TRUE(priority);
  EXPECT_EQ(decode_u32(priority->value), 0x6e0001ffu);

  EXPECT_EQ(check_message_integrity(m, text_bytes(kShortTermPassword)), StunCheck::kValid);
  EXPECT_EQ(check_message_integrity(m, text_bytes("VOkJxbRl1RmTxUk/WvJxBT")), StunCheck::kInvalid);
  EXPECT_EQ(check_message_integrity_sha256(m, text_bytes(kShortTermPassword)), StunCheck::kAbsent);
  EXPECT_EQ(check_fingerprint(m), StunCheck::kValid);

  // PRIORITY (0x0024, ICE) is comprehension-required and not ours to know.
  std::array<uint16_t, 4> unknown{};
  ASSERT_EQ(m.unknown_comprehension_required(unknown), 1u);
  EXPECT_EQ(unknown[0], 0x0024);

  EXPECT_EQ(hex(rebuild(m, text_bytes(kShortTermPassword), 0x20)), hex(bytes));
}

TEST(Rfc5769, SampleIpv4Response) {
  const auto bytes = load_vector("rfc5769/ipv4_response.hex");
  const StunMessage m = parse_ok(bytes);
  EXPECT_TRUE(m.is(StunMethod::kBinding, StunClass::kSuccess));
  EXPECT_EQ(text_of(m, StunAttr::kSoftware), "test vector");
  auto mapped = m.find(StunAttr::kXorMappedAddress);
  ASSERT_TRUE(mapped);
  auto e = decode_xor_address(mapped->value, m.transaction_id());
  ASSERT_TRUE(e);
  EXPECT_EQ(e->to_string(), "192.0.2.1:32853");
  EXPECT_EQ(check_message_integrity(m, text_bytes(kShortTermPassword)), StunCheck::kValid);
  EXPECT_EQ(check_fingerprint(m), StunCheck::kValid);
  EXPECT_EQ(hex(rebuild(m, text_bytes(kShortTermPassword), 0x20)), hex(bytes));

  // Built from typed values, not copied bytes, the address encodes the same.
  std::vector<uint8_t> out(kStunMaxUdpMessage);
  StunBuilder b(out, StunMethod::kBinding, StunClass::kSuccess, m.transaction_id());
  b.set_padding_byte(0x20);
  b.add_text(StunAttr::kSoftware, "test vector")
      .add_xor_address(StunAttr::kXorMappedAddress, *Endpoint::parse("192.0.2.1:32853"))
      .add_message_integrity(text_bytes(kShortTermPassword))
      .add_fingerprint();
  ASSERT_TRUE(b.finish());
  EXPECT_EQ(hex(*b.finish()), hex(bytes));
}

TEST(Rfc5769, SampleIpv6Response) {
  const auto bytes = load_vector("rfc5769/ipv6_response.hex");
  const StunMessage m = parse_ok(bytes);
  auto mapped = m.find(StunAttr::kXorMappedAddress);
  ASSERT_TRUE(mapped);
  auto e = decode_xor_address(mapped->value, m.transaction_id());
  ASSERT_TRUE(e);
  EXPECT_EQ(e->to_string(), "[2001:db8:1234:5678:11:2233:4455:6677]:32853");
  EXPECT_EQ(check_message_integrity(m, text_bytes(kShortTermPassword)), StunCheck::kValid);
  EXPECT_EQ(check_fingerprint(m), StunCheck::kValid);
  EXPECT_EQ(hex(rebuild(m, text_bytes(kShortTermPassword), 0x20)), hex(bytes));

  std::vector<uint8_t> out(kStunMaxUdpMessage);
  StunBuilder b(out, StunMethod::kBinding, StunClass::kSuccess, m.transaction_id());
  b.set_padding_byte(0x20);
  b.add_text(StunAttr::kSoftware, "test vector")
      .add_xor_address(StunAttr::kXorMappedAddress, *e)
      .add_message_integrity(text_bytes(kShortTermPassword))
      .add_fingerprint();
  ASSERT_TRUE(b.finish());
  EXPECT_EQ(hex(*b.finish()), hex(bytes));
}

TEST(Rfc5769, SampleRequestWithLongTermAuthentication) {
  const auto bytes = load_vector("rfc5769/long_term_request.hex");
  const StunMessage m = parse_ok(bytes);
  EXPECT_TRUE(m.is(StunMethod::kBinding, StunClass::kRequest));
  EXPECT_EQ(text_of(m, StunAttr::kUsername), kLongTermUser);
  EXPECT_EQ(text_of(m, StunAttr::kNonce), "f//499k954d6OL34oL9FSTvy64sA");
  EXPECT_EQ(text_of(m, StunAttr::kRealm), "example.org");

  const auto key = stun_long_term_key_md5(kLongTermUser, "example.org", "TheMatrIX");
  EXPECT_EQ(check_message_integrity(m, key), StunCheck::kValid);
  const auto wrong = stun_long_term_key_md5(kLongTermUser, "example.org", "TheMatrix");
  EXPECT_EQ(check_message_integrity(m, wrong), StunCheck::kInvalid);
  EXPECT_EQ(check_fingerprint(m), StunCheck::kAbsent);
  EXPECT_EQ(hex(rebuild(m, key, 0x00)), hex(bytes));
}

TEST(Rfc8489, SampleRequestWithSha256AndUserhash) {
  const auto bytes = load_vector("rfc8489/sample_request_sha256.hex");
  const StunMessage m = parse_ok(bytes);
  auto userhash = m.find(StunAttr::kUserhash);
  ASSERT_TRUE(userhash);
  EXPECT_EQ(decode_userhash(userhash->value), stun_userhash(kLongTermUser, "example.org"));
  auto algorithm = m.find(StunAttr::kPasswordAlgorithm);
  ASSERT_TRUE(algorithm);
  auto a = decode_password_algorithm(algorithm->value);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->algorithm, kPasswordAlgorithmSha256);
  EXPECT_TRUE(a->parameters.empty());

  const auto key = stun_long_term_key_sha256(kLongTermUser, "example.org", "TheMatrIX");
  EXPECT_EQ(check_message_integrity_sha256(m, key), StunCheck::kValid);
  EXPECT_EQ(check_message_integrity(m, key), StunCheck::kAbsent);
  const auto md5_key = stun_long_term_key_md5(kLongTermUser, "example.org", "TheMatrIX");
  EXPECT_EQ(check_message_integrity_sha256(m, md5_key), StunCheck::kInvalid);

  // From typed values, as a client would send it.
  std::vector<uint8_t> out(kStunMaxUdpMessage);
  StunBuilder b(out, StunMethod::kBinding, StunClass::kRequest, m.transaction_id());
  b.add_userhash(stun_userhash(kLongTermUser, "example.org"))
      .add_text(StunAttr::kNonce, "obMatJos2AAACf//499k954d6OL34oL9FSTvy64sA")
      .add_text(StunAttr::kRealm, "example.org")
      .add_password_algorithm({kPasswordAlgorithmSha256, {}})
      .add_message_integrity_sha256(key);
  ASSERT_TRUE(b.finish());
  EXPECT_EQ(hex(*b.finish()), hex(bytes));
}

}  // namespace
}  // namespace tern::wire

// MESSAGE-INTEGRITY(-SHA256) and FINGERPRINT together: computed by the builder,
// checked on parse, and any change to a covered byte detected; long-term keys.
#include "wire/stun_integrity.hpp"

#include <gtest/gtest.h>

#include <array>
#include <vector>

#include "crypto/hmac_sha.hpp"
#include "stun_test_util.hpp"
#include "wire/stun_builder.hpp"
#include "wire/stun_fingerprint.hpp"

namespace tern::wire {
namespace {

using test::hex;
using test::text_bytes;

const TransactionId kId = {9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 1, 2};

std::vector<uint8_t> authenticated(Bytes key, bool sha1, bool sha256, bool fingerprint) {
  std::vector<uint8_t> buf(kStunMaxUdpMessage);
  StunBuilder b(buf, StunMethod::kAllocate, StunClass::kRequest, kId);
  b.add_requested_transport()
      .add_text(StunAttr::kUsername, "1735689600:peer")
      .add_text(StunAttr::kRealm, "tern")
      .add_text(StunAttr::kNonce, "abcdef");
  if (sha1) b.add_message_integrity(key);
  if (sha256) b.add_message_integrity_sha256(key);
  if (fingerprint) b.add_fingerprint();
  auto out = b.finish();
  EXPECT_TRUE(out);
  return std::vector<uint8_t>(out->begin(), out->end());
}

TEST(StunIntegrity, BuiltMessagesVerifyInEveryCombination) {
  const auto key = stun_long_term_key_md5("1735689600:peer", "tern", "secret-password");
  for (int mask = 0; mask < 8; ++mask) {
    const bool s1 = mask & 1, s256 = mask & 2, fp = mask & 4;
    const auto bytes = authenticated(key, s1, s256, fp);
    auto m = StunMessage::parse(bytes);
    ASSERT_TRUE(m) << mask;
    EXPECT_EQ(check_message_integrity(m.value(), key), s1 ? StunCheck::kValid : StunCheck::kAbsent);
    EXPECT_EQ(check_message_integrity_sha256(*m, key),
              s256 ? StunCheck::kValid : StunCheck::kAbsent);
    EXPECT_EQ(check_fingerprint(*m), fp ? StunCheck::kValid : StunCheck::kAbsent);
  }
}

TEST(StunIntegrity, EveryCoveredByteIsProtected) {
  const auto key = stun_long_term_key_md5("u", "r", "p");
  const auto good = authenticated(key, true, true, true);
  const size_t mi = StunMessage::parse(good)->integrity_offset().value();
  for (size_t i = 0; i < good.size(); ++i) {
    if (i == 2 || i == 3) continue;  // the length: changing it breaks parsing instead
    auto bad = good;
    bad[i] ^= 0x10;
    auto m = StunMessage::parse(bad);
    if (!m) continue;  // e.g. an attribute length changed: rejected before any MAC
    // Invalid, or absent when the flip hit an attribute type; never valid.
    EXPECT_NE(check_fingerprint(*m), StunCheck::kValid) << i;
    if (i < mi + 24) {
      EXPECT_NE(check_message_integrity(*m, key), StunCheck::kValid) << i;
    }
    if (i < good.size() - 8) {
      EXPECT_NE(check_message_integrity_sha256(*m, key), StunCheck::kValid) << i;
    }
  }
}

TEST(StunIntegrity, WrongKeyIsInvalid) {
  const auto key = stun_long_term_key_md5("u", "r", "p");
  const auto other = stun_long_term_key_md5("u", "r", "P");
  const auto bytes = authenticated(key, true, true, false);
  auto m = StunMessage::parse(bytes);
  ASSERT_TRUE(m);
  EXPECT_EQ(check_message_integrity(*m, other), StunCheck::kInvalid);
  EXPECT_EQ(check_message_integrity_sha256(*m, other), StunCheck::kInvalid);
  EXPECT_EQ(check_message_integrity(*m, {}), StunCheck::kInvalid);
}

TEST(StunIntegrity, TruncatedSha256IsAccepted) {
  // RFC 8489 §14.6 lets a sender truncate the HMAC to 16..28 bytes.
  const auto key = text_bytes("short-term");
  for (size_t n : {16, 20, 24, 28}) {
    std::vector<uint8_t> buf(256);
    StunBuilder b(buf, StunMethod::kBinding, StunClass::kRequest, kId);
    b.add_text(StunAttr::kUsername, "a:b");
    const size_t offset = b.size();
    auto slot = b.reserve(to_u16(StunAttr::kMessageIntegritySha256), n);
    ASSERT_TRUE(slot);
    const auto mac = crypto::hmac_sha256(key, {Bytes(buf.data(), offset)});
    std::copy_n(mac.begin(), n, slot->begin());
    auto m = StunMessage::parse(*b.finish());
    ASSERT_TRUE(m);
    EXPECT_EQ(check_message_integrity_sha256(*m, key), StunCheck::kValid) << n;
    (*slot)[n - 1] ^= 1;
    EXPECT_EQ(check_message_integrity_sha256(*StunMessage::parse(*b.finish()), key),
              StunCheck::kInvalid);
  }
}

TEST(StunIntegrity, LongTermKeysAndUserhash) {
  // MD5("user:realm:pass") and SHA-256 of the same, from Python's hashlib.
  EXPECT_EQ(hex(stun_long_term_key_md5("user", "realm", "pass")),
            "8493fbc53ba582fb4c044c456bdc40eb");
  EXPECT_EQ(hex(stun_long_term_key_sha256("user", "realm", "pass")),
            "07e934117abd40836e7c6329b54731b2b2d2a5f9a71f544922d75e0730d8251b");
  EXPECT_EQ(hex(stun_userhash("user", "realm")),
            "6a3029116b47aa98bcaa325399733dc1a23cd57e26b81bef3ff6531ce624e2da");
}

}  // namespace
}  // namespace tern::wire

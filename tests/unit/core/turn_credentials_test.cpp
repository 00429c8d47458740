#include "core/turn_credentials.hpp"

#include <gtest/gtest.h>

#include <vector>

#include "wire/stun_attributes.hpp"
#include "wire/stun_builder.hpp"
#include "wire/stun_integrity.hpp"
#include "wire/stun_test_util.hpp"

namespace tern::core {
namespace {

using wire::StunAttr;
using wire::StunBuilder;
using wire::StunClass;
using wire::StunMessage;
using wire::StunMethod;

const wire::TransactionId kId = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};

TEST(RestCredentials, MatchCoturnUseAuthSecret) {
  // Computed independently: echo -n 1735689600:peer-a | openssl dgst -sha1 -hmac north-secret
  // -binary | base64
  const auto c = rest_credentials("north-secret", "peer-a", 1735689600);
  EXPECT_EQ(c.username, "1735689600:peer-a");
  EXPECT_EQ(c.password, "ZcRUXGVR8Ux7M/e23+P1k+qq/x0=");
  EXPECT_NE(rest_credentials("other-secret", "peer-a", 1735689600).password, c.password);
  EXPECT_NE(rest_credentials("north-secret", "peer-a", 1735689601).password, c.password);
}

TEST(RestCredentials, ExpiryIsReadFromTheUsername) {
  EXPECT_EQ(rest_username_expiry("1735689600:peer-a"), 1735689600);
  EXPECT_EQ(rest_username_expiry("1735689600"), 1735689600);
  EXPECT_EQ(rest_username_expiry("1735689600:a:b"), 1735689600);
  EXPECT_FALSE(rest_username_expiry("alice"));
  EXPECT_FALSE(rest_username_expiry("12345:alice"));  // a number, not a Unix time
  EXPECT_FALSE(rest_username_expiry("17356896x0:alice"));
  EXPECT_FALSE(rest_username_expiry(":alice"));
  EXPECT_FALSE(rest_username_expiry("99999999999999999999999:x"));
}

TEST(NonceCookie, SecurityFeatureBits) {
  EXPECT_FALSE(parse_nonce_cookie("f//499k954d6OL34oL9FSTvy64sA"));
  EXPECT_FALSE(parse_nonce_cookie("obMatJos2"));
  auto f = parse_nonce_cookie("obMatJos2gAAAxyz");  // 0x80 0x00 0x00
  ASSERT_TRUE(f);
  EXPECT_TRUE(f->password_algorithms);
  EXPECT_FALSE(f->username_anonymity);
  f = parse_nonce_cookie("obMatJos2wAAA");  // 0xC0
  ASSERT_TRUE(f);
  EXPECT_TRUE(f->password_algorithms);
  EXPECT_TRUE(f->username_anonymity);
  f = parse_nonce_cookie("obMatJos2AAAA");
  ASSERT_TRUE(f);
  EXPECT_FALSE(f->password_algorithms);
  EXPECT_FALSE(parse_nonce_cookie("obMatJos2!!!!"));
}

struct Challenge {
  std::vector<uint8_t> bytes;
  StunMessage message() const { return *StunMessage::parse(bytes); }
};

Challenge challenge(std::string_view realm, std::string_view nonce,
                    std::vector<wire::PasswordAlgorithm> algorithms = {}) {
  Challenge c{std::vector<uint8_t>(wire::kStunMaxUdpMessage)};
  StunBuilder b(c.bytes, StunMethod::kAllocate, StunClass::kError, kId);
  b.add_error_code(401, "Unauthorized");
  if (!realm.empty()) b.add_text(StunAttr::kRealm, realm);
  if (!nonce.empty()) b.add_text(StunAttr::kNonce, nonce);
  if (!algorithms.empty()) b.add_password_algorithms(algorithms);
  c.bytes.resize(b.finish()->size());
  return c;
}

// A request signed by `auth`, parsed back.
std::vector<uint8_t> signed_request(const LongTermAuth& auth) {
  std::vector<uint8_t> buf(wire::kStunMaxUdpMessage);
  StunBuilder b(buf, StunMethod::kAllocate, StunClass::kRequest, kId);
  b.add_requested_transport();
  auth.add_credentials(b);
  auth.add_integrity(b);
  buf.resize(b.finish()->size());
  return buf;
}

TEST(LongTermAuth, LearnsRealmAndNonceAndSignsWithMd5Key) {
  LongTermAuth auth({"alice", "correct horse"});
  EXPECT_FALSE(auth.ready());
  ASSERT_TRUE(auth.learn(challenge("tern.test", "n1").message()));
  EXPECT_TRUE(auth.ready());
  EXPECT_EQ(auth.realm(), "tern.test");
  EXPECT_EQ(auth.nonce(), "n1");
  EXPECT_FALSE(auth.uses_sha256_integrity());

  const auto bytes = signed_request(auth);
  const auto m = *StunMessage::parse(bytes);
  EXPECT_EQ(wire::as_text(m.find(StunAttr::kUsername)->value), "alice");
  EXPECT_EQ(wire::as_text(m.find(StunAttr::kRealm)->value), "tern.test");
  EXPECT_EQ(wire::as_text(m.find(StunAttr::kNonce)->value), "n1");
  EXPECT_FALSE(m.find(StunAttr::kPasswordAlgorithm));
  const auto key = wire::stun_long_term_key_md5("alice", "tern.test", "correct horse");
  EXPECT_EQ(wire::check_message_integrity(m, key), wire::StunCheck::kValid);
  EXPECT_EQ(auth.check(m), wire::StunCheck::kValid);
}

TEST(LongTermAuth, ChecksTheRfc5769LongTermSample) {
  // RFC 5769 §2.4: learning realm and nonce from the sample itself, the key derived
  // from its password must verify its MESSAGE-INTEGRITY.
  const auto bytes = test::load_vector("rfc5769/long_term_request.hex");
  const auto m = *StunMessage::parse(bytes);
  const std::string user =
      "\xE3\x83\x9E\xE3\x83\x88\xE3\x83\xAA\xE3\x83\x83\xE3\x82\xAF\xE3\x82\xB9";
  LongTermAuth right({user, "TheMatrIX"});
  ASSERT_TRUE(right.learn(m));
  EXPECT_EQ(right.realm(), "example.org");
  EXPECT_EQ(right.check(m), wire::StunCheck::kValid);
  LongTermAuth wrong({user, "TheMatrix"});
  ASSERT_TRUE(wrong.learn(m));
  EXPECT_EQ(wrong.check(m), wire::StunCheck::kInvalid);
}

TEST(LongTermAuth, NegotiatesSha256WithRfc8489Servers) {
  LongTermAuth auth({"alice", "pw"});
  const std::vector<wire::PasswordAlgorithm> algs = {{wire::kPasswordAlgorithmSha256, {}},
                                                     {wire::kPasswordAlgorithmMd5, {}}};
  ASSERT_TRUE(auth.learn(challenge("r", "obMatJos2gAAAxyz", algs).message()));
  EXPECT_EQ(auth.password_algorithm(), wire::kPasswordAlgorithmSha256);
  EXPECT_TRUE(auth.uses_sha256_integrity());

  const auto bytes = signed_request(auth);
  const auto m = *StunMessage::parse(bytes);
  ASSERT_TRUE(m.find(StunAttr::kPasswordAlgorithms));
  auto chosen = wire::decode_password_algorithm(m.find(StunAttr::kPasswordAlgorithm)->value);
  ASSERT_TRUE(chosen);
  EXPECT_EQ(chosen->algorithm, wire::kPasswordAlgorithmSha256);
  EXPECT_FALSE(m.integrity_offset());
  const auto key = wire::stun_long_term_key_sha256("alice", "r", "pw");
  EXPECT_EQ(wire::check_message_integrity_sha256(m, key), wire::StunCheck::kValid);
}

TEST(LongTermAuth, PicksTheFirstAlgorithmItKnows) {
  LongTermAuth auth({"alice", "pw"});
  const std::vector<wire::PasswordAlgorithm> algs = {
      {0x7777, {}}, {wire::kPasswordAlgorithmMd5, {}}, {wire::kPasswordAlgorithmSha256, {}}};
  ASSERT_TRUE(auth.learn(challenge("r", "obMatJos2gAAAxyz", algs).message()));
  EXPECT_EQ(auth.password_algorithm(), wire::kPasswordAlgorithmMd5);
  const auto m_bytes = signed_request(auth);
  const auto m = *StunMessage::parse(m_bytes);
  const auto key = wire::stun_long_term_key_md5("alice", "r", "pw");
  EXPECT_EQ(wire::check_message_integrity_sha256(m, key), wire::StunCheck::kValid);
}

TEST(LongTermAuth, UsesUserhashWhenTheServerAsksForAnonymity) {
  LongTermAuth auth({"alice", "pw"});
  const std::vector<wire::PasswordAlgorithm> algs = {{wire::kPasswordAlgorithmSha256, {}}};
  ASSERT_TRUE(auth.learn(challenge("r", "obMatJos2wAAAxyz", algs).message()));
  const auto bytes = signed_request(auth);
  const auto m = *StunMessage::parse(bytes);
  EXPECT_FALSE(m.find(StunAttr::kUsername));
  auto hash = m.find(StunAttr::kUserhash);
  ASSERT_TRUE(hash);
  EXPECT_EQ(wire::decode_userhash(hash->value), wire::stun_userhash("alice", "r"));
}

TEST(LongTermAuth, RefusesChallengesItCannotAnswer) {
  LongTermAuth auth({"alice", "pw"});
  auto no_realm = auth.learn(challenge("", "n").message());
  ASSERT_FALSE(no_realm);
  EXPECT_NE(no_realm.error().message.find("REALM"), std::string::npos);
  EXPECT_FALSE(auth.learn(challenge("r", "").message()));

  // The nonce announces PASSWORD-ALGORITHMS, the attribute is gone: a downgrade.
  auto downgrade = auth.learn(challenge("r", "obMatJos2gAAAxyz").message());
  ASSERT_FALSE(downgrade);
  EXPECT_NE(downgrade.error().message.find("weaker"), std::string::npos);

  const std::vector<wire::PasswordAlgorithm> unknown = {{0x7777, {}}};
  auto none = auth.learn(challenge("r", "obMatJos2gAAAxyz", unknown).message());
  ASSERT_FALSE(none);
  EXPECT_NE(none.error().message.find("MD5 or SHA-256"), std::string::npos);
  EXPECT_FALSE(auth.ready());
}

TEST(LongTermAuth, ANewNonceKeepsTheKey) {
  LongTermAuth auth({"alice", "pw"});
  ASSERT_TRUE(auth.learn(challenge("r", "n1").message()));
  const auto first = signed_request(auth);
  ASSERT_TRUE(auth.learn(challenge("r", "n2").message()));
  EXPECT_EQ(auth.nonce(), "n2");
  // Both verify with the same key: only the nonce changed.
  EXPECT_EQ(auth.check(*StunMessage::parse(first)), wire::StunCheck::kValid);
}

}  // namespace
}  // namespace tern::core

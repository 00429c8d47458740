// FINGERPRINT: the CRC-32 against a bitwise reference on random input, and the
// attribute built, checked and tampered with.
#include "wire/stun_fingerprint.hpp"

#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "stun_test_util.hpp"
#include "wire/stun_builder.hpp"

namespace tern::wire {
namespace {

using test::load_vector;
using test::text_bytes;

const TransactionId kId = {9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 1, 2};

// The CRC-32 definition, one bit at a time.
uint32_t reference_crc32(Bytes data) {
  uint32_t crc = 0xFFFFFFFF;
  for (uint8_t byte : data) {
    crc ^= byte;
    for (int k = 0; k < 8; ++k)
      crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1)));
  }
  return ~crc;
}

TEST(StunCrc32, KnownAnswerAndReference) {
  EXPECT_EQ(stun_crc32(text_bytes("123456789")), 0xCBF43926u);
  EXPECT_EQ(stun_crc32({}), 0u);
  EXPECT_EQ(stun_crc32(text_bytes("1234"), text_bytes("56789")), 0xCBF43926u);
  std::mt19937 rng(3);
  for (int i = 0; i < 2000; ++i) {
    std::vector<uint8_t> d(rng() % 300);
    for (auto& b : d)
      b = static_cast<uint8_t>(rng());
    const size_t cut = d.empty() ? 0 : rng() % d.size();
    ASSERT_EQ(stun_crc32(Bytes(d).first(cut), Bytes(d).subspan(cut)), reference_crc32(d));
  }
}

TEST(StunFingerprint, RfcVectorsCheckOut) {
  for (const char* name :
       {"rfc5769/sample_request.hex", "rfc5769/ipv4_response.hex", "rfc5769/ipv6_response.hex"}) {
    const auto bytes = load_vector(name);
    auto m = StunMessage::parse(bytes);
    ASSERT_TRUE(m) << name;
    EXPECT_EQ(check_fingerprint(*m), StunCheck::kValid) << name;
  }
  const auto no_fp = load_vector("rfc5769/long_term_request.hex");
  EXPECT_EQ(check_fingerprint(*StunMessage::parse(no_fp)), StunCheck::kAbsent);
}

TEST(StunFingerprint, BuiltCheckedAndTampered) {
  std::vector<uint8_t> buf(256);
  StunBuilder b(buf, StunMethod::kBinding, StunClass::kRequest, kId);
  b.add_text(StunAttr::kSoftware, "tern").add_fingerprint();
  const auto bytes = b.finish();
  ASSERT_TRUE(bytes);
  ASSERT_EQ(bytes->size(), 20u + 8 + 8);
  EXPECT_EQ(check_fingerprint(*StunMessage::parse(*bytes)), StunCheck::kValid);
  for (size_t i = 0; i < bytes->size(); ++i) {
    if (i == 2 || i == 3) continue;  // the length: parsing fails instead
    std::vector<uint8_t> bad(bytes->begin(), bytes->end());
    bad[i] ^= 0x01;
    auto m = StunMessage::parse(bad);
    if (m) {
      EXPECT_NE(check_fingerprint(*m), StunCheck::kValid) << i;
    }
  }
}

}  // namespace
}  // namespace tern::wire

// STUN header, type bits, the attribute walk and its rejections, and the
// shared-socket classifier.
#include "wire/stun.hpp"

#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "stun_test_util.hpp"
#include "wire/channel_data.hpp"
#include "wire/stun_builder.hpp"
#include "wire/stun_fingerprint.hpp"
#include "wire/wireguard.hpp"

namespace tern::wire {
namespace {

using test::load_vector;
using test::text_bytes;

const TransactionId kId = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};

// Header plus raw attribute bytes; the length field is what the attributes sum to
// unless given.
std::vector<uint8_t> raw_message(std::vector<uint8_t> attributes, int length = -1) {
  // Sized once and filled in place: GCC 12 at -O2 misreads chained inserts (-Warray-bounds).
  std::vector<uint8_t> m(20 + attributes.size(), 0);
  const size_t len = length < 0 ? attributes.size() : static_cast<size_t>(length);
  const uint8_t head[8] = {
      0x00, 0x01, static_cast<uint8_t>(len >> 8), static_cast<uint8_t>(len), 0x21, 0x12,
      0xA4, 0x42};
  std::copy(std::begin(head), std::end(head), m.begin());
  std::copy(kId.begin(), kId.end(), m.begin() + 8);
  std::copy(attributes.begin(), attributes.end(), m.begin() + 20);
  return m;
}

StunParseError error_of(const std::vector<uint8_t>& m) {
  auto r = StunMessage::parse(m);
  EXPECT_FALSE(r.has_value());
  return r ? StunParseError::kNotStun : r.error();
}

TEST(StunType, KnownEncodings) {
  EXPECT_EQ(stun_message_type(StunMethod::kBinding, StunClass::kRequest), 0x0001);
  EXPECT_EQ(stun_message_type(StunMethod::kBinding, StunClass::kIndication), 0x0011);
  EXPECT_EQ(stun_message_type(StunMethod::kBinding, StunClass::kSuccess), 0x0101);
  EXPECT_EQ(stun_message_type(StunMethod::kBinding, StunClass::kError), 0x0111);
  EXPECT_EQ(stun_message_type(StunMethod::kAllocate, StunClass::kRequest), 0x0003);
  EXPECT_EQ(stun_message_type(StunMethod::kAllocate, StunClass::kSuccess), 0x0103);
  EXPECT_EQ(stun_message_type(StunMethod::kAllocate, StunClass::kError), 0x0113);
  EXPECT_EQ(stun_message_type(StunMethod::kRefresh, StunClass::kRequest), 0x0004);
  EXPECT_EQ(stun_message_type(StunMethod::kSend, StunClass::kIndication), 0x0016);
  EXPECT_EQ(stun_message_type(StunMethod::kData, StunClass::kIndication), 0x0017);
  EXPECT_EQ(stun_message_type(StunMethod::kCreatePermission, StunClass::kRequest), 0x0008);
  EXPECT_EQ(stun_message_type(StunMethod::kChannelBind, StunClass::kSuccess), 0x0109);
}

TEST(StunType, ClassHelpers) {
  const uint16_t request = stun_message_type(StunMethod::kRefresh, StunClass::kRequest);
  EXPECT_EQ(stun_with_class(request, StunClass::kSuccess), 0x0104);
  EXPECT_EQ(stun_with_class(request, StunClass::kError), 0x0114);
  for (StunClass c :
       {StunClass::kRequest, StunClass::kIndication, StunClass::kSuccess, StunClass::kError}) {
    auto m = raw_message({});
    const uint16_t type = stun_message_type(StunMethod::kChannelBind, c);
    m[0] = static_cast<uint8_t>(type >> 8);
    m[1] = static_cast<uint8_t>(type);
    auto r = StunMessage::parse(m);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->method(), StunMethod::kChannelBind);
    EXPECT_EQ(r->message_class(), c);
    EXPECT_EQ(r->is_request(), c == StunClass::kRequest);
    EXPECT_EQ(r->is_indication(), c == StunClass::kIndication);
    EXPECT_EQ(r->is_success(), c == StunClass::kSuccess);
    EXPECT_EQ(r->is_error(), c == StunClass::kError);
  }
}

TEST(StunType, EveryMethodAndClassRoundTrips) {
  for (uint16_t m = 0; m < 0x1000; ++m) {
    for (uint8_t c = 0; c < 4; ++c) {
      const auto type = stun_message_type(static_cast<StunMethod>(m), static_cast<StunClass>(c));
      ASSERT_EQ(type & 0xC000, 0);
      ASSERT_EQ(static_cast<uint16_t>(stun_method_of(type)), m);
      ASSERT_EQ(static_cast<uint8_t>(stun_class_of(type)), c);
    }
  }
}

TEST(StunParse, EmptyMessageAndHeaderFields) {
  const auto m = raw_message({});
  auto r = StunMessage::parse(m);
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->is(StunMethod::kBinding, StunClass::kRequest));
  EXPECT_EQ(r->transaction_id(), kId);
  EXPECT_EQ(r->begin(), r->end());
  EXPECT_FALSE(r->integrity_offset());
}

TEST(StunParse, TruncatedHeader) {
  const auto full = raw_message({});
  for (size_t n = 0; n < kStunHeaderSize; ++n) {
    std::vector<uint8_t> m(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(n));
    EXPECT_EQ(error_of(m), StunParseError::kTruncatedHeader) << n;
  }
}

TEST(StunParse, TopBitsAndCookie) {
  for (uint8_t top : {0x40, 0x80, 0xC0}) {
    auto m = raw_message({});
    m[0] |= top;
    EXPECT_EQ(error_of(m), StunParseError::kNotStun);
  }
  auto m = raw_message({});
  m[7] ^= 1;
  EXPECT_EQ(error_of(m), StunParseError::kBadMagicCookie);
}

TEST(StunParse, LengthMustMatchTheDatagram) {
  const std::vector<uint8_t> attr = {0x80, 0x22, 0x00, 0x04, 'a', 'b', 'c', 'd'};
  EXPECT_EQ(error_of(raw_message(attr, 12)), StunParseError::kBadLength);
  EXPECT_EQ(error_of(raw_message(attr, 4)), StunParseError::kBadLength);
  auto trailing = raw_message(attr);
  trailing.push_back(0);
  EXPECT_EQ(error_of(trailing), StunParseError::kBadLength);
  EXPECT_TRUE(StunMessage::parse(raw_message(attr)));
}

TEST(StunParse, UnpaddedAttributeIsBadPadding) {
  // SOFTWARE "abc" without its one byte of padding: length 7.
  EXPECT_EQ(error_of(raw_message({0x80, 0x22, 0x00, 0x03, 'a', 'b', 'c'})),
            StunParseError::kBadPadding);
  // With the padding, whatever its value, it parses (RFC 8489 §14: ignored on receipt).
  const auto padded = raw_message({0x80, 0x22, 0x00, 0x03, 'a', 'b', 'c', 0xEE});
  auto ok = StunMessage::parse(padded);
  ASSERT_TRUE(ok);
  EXPECT_EQ(as_text(ok->find(StunAttr::kSoftware)->value), "abc");
}

TEST(StunParse, AttributeOverrunningTheMessage) {
  EXPECT_EQ(error_of(raw_message({0x80, 0x22, 0x00, 0x05, 'a', 'b', 'c', 'd'})),
            StunParseError::kAttributeOverrun);
  EXPECT_EQ(error_of(raw_message({0x00, 0x06, 0xFF, 0xFF, 'a', 'b', 'c', 'd'})),
            StunParseError::kAttributeOverrun);
  // The second attribute overruns.
  EXPECT_EQ(error_of(raw_message({0x80, 0x22, 0x00, 0x00, 0x00, 0x06, 0x00, 0x08, 1, 2, 3, 4})),
            StunParseError::kAttributeOverrun);
}

std::vector<uint8_t> attr(uint16_t type, size_t len) {
  std::vector<uint8_t> a = {static_cast<uint8_t>(type >> 8), static_cast<uint8_t>(type),
                            static_cast<uint8_t>(len >> 8), static_cast<uint8_t>(len)};
  a.resize(4 + ((len + 3) & ~size_t{3}), 0x11);
  return a;
}

std::vector<uint8_t> concat(std::initializer_list<std::vector<uint8_t>> parts) {
  std::vector<uint8_t> out;
  for (const auto& p : parts)
    out.insert(out.end(), p.begin(), p.end());
  return out;
}

TEST(StunParse, IntegrityAndFingerprintSizes) {
  EXPECT_EQ(error_of(raw_message(attr(0x0008, 19))), StunParseError::kBadIntegrityLength);
  EXPECT_EQ(error_of(raw_message(attr(0x0008, 24))), StunParseError::kBadIntegrityLength);
  EXPECT_TRUE(StunMessage::parse(raw_message(attr(0x0008, 20))));
  for (size_t n : {0, 12, 18, 36}) {
    EXPECT_EQ(error_of(raw_message(attr(0x001C, n))), StunParseError::kBadIntegrityLength) << n;
  }
  for (size_t n : {16, 20, 24, 28, 32})
    EXPECT_TRUE(StunMessage::parse(raw_message(attr(0x001C, n)))) << n;
  EXPECT_EQ(error_of(raw_message(attr(0x8028, 8))), StunParseError::kBadFingerprintLength);
  EXPECT_EQ(error_of(raw_message(attr(0x8028, 0))), StunParseError::kBadFingerprintLength);
}

TEST(StunParse, FingerprintMustBeLast) {
  EXPECT_EQ(error_of(raw_message(concat({attr(0x8028, 4), attr(0x8022, 4)}))),
            StunParseError::kFingerprintNotLast);
  EXPECT_EQ(error_of(raw_message(concat({attr(0x8028, 4), attr(0x8028, 4)}))),
            StunParseError::kFingerprintNotLast);
}

TEST(StunParse, AttributesAfterIntegrityAreIgnored) {
  // SOFTWARE, MESSAGE-INTEGRITY, USERNAME (ignored), -SHA256, REALM (ignored),
  // MESSAGE-INTEGRITY (ignored: only FINGERPRINT may follow -SHA256), FINGERPRINT.
  const auto m =
      raw_message(concat({attr(0x8022, 4), attr(0x0008, 20), attr(0x0006, 3), attr(0x001C, 32),
                          attr(0x0014, 4), attr(0x0008, 20), attr(0x8028, 4)}));
  auto r = StunMessage::parse(m);
  ASSERT_TRUE(r);
  std::vector<uint16_t> seen;
  for (const auto& a : *r)
    seen.push_back(a.type);
  EXPECT_EQ(seen, (std::vector<uint16_t>{0x8022, 0x0008, 0x001C, 0x8028}));
  EXPECT_FALSE(r->find(StunAttr::kUsername));
  EXPECT_FALSE(r->find(StunAttr::kRealm));
  EXPECT_EQ(r->integrity_offset(), 28u);
  EXPECT_EQ(r->integrity_sha256_offset(), 28u + 24 + 8);
  EXPECT_EQ(r->fingerprint_offset(), m.size() - 8);
}

TEST(StunParse, IgnoredAttributesAreNotSizeChecked) {
  // A second, malformed MESSAGE-INTEGRITY after the first is ignored, not an error.
  const auto m = raw_message(concat({attr(0x0008, 20), attr(0x0008, 3)}));
  auto r = StunMessage::parse(m);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->integrity_offset(), 20u);
}

TEST(StunParse, OffsetsAndValuesPointIntoTheDatagram) {
  const auto m = raw_message(concat({attr(0x8022, 5), attr(0x0006, 0), attr(0x0013, 8)}));
  auto r = StunMessage::parse(m);
  ASSERT_TRUE(r);
  std::vector<StunAttribute> attrs(r->begin(), r->end());
  ASSERT_EQ(attrs.size(), 3u);
  EXPECT_EQ(attrs[0].offset, 20u);
  EXPECT_EQ(attrs[0].value.data(), m.data() + 24);
  EXPECT_EQ(attrs[0].value.size(), 5u);
  EXPECT_EQ(attrs[1].offset, 32u);
  EXPECT_TRUE(attrs[1].value.empty());
  EXPECT_EQ(attrs[2].offset, 36u);
  EXPECT_EQ(attrs[2].value.size(), 8u);
}

TEST(StunParse, UnknownComprehensionRequiredAttributes) {
  // 0x0024 twice, 0x7FFF once, 0x8050 (optional, ignored), USERNAME (known).
  const auto m = raw_message(concat(
      {attr(0x0024, 4), attr(0x8050, 4), attr(0x0006, 4), attr(0x7FFF, 0), attr(0x0024, 4)}));
  auto r = StunMessage::parse(m);
  ASSERT_TRUE(r);
  std::array<uint16_t, 1> one{};
  EXPECT_EQ(r->unknown_comprehension_required(one), 2u);  // counts all, writes what fits
  EXPECT_EQ(one[0], 0x0024);
  std::array<uint16_t, 8> all{};
  ASSERT_EQ(r->unknown_comprehension_required(all), 2u);
  EXPECT_EQ(all[1], 0x7FFF);
}

TEST(StunParse, EveryTruncationOfTheVectorsIsRejected) {
  for (const char* name : {"rfc5769/sample_request.hex", "rfc5769/ipv4_response.hex",
                           "rfc5769/ipv6_response.hex", "rfc5769/long_term_request.hex"}) {
    const auto full = load_vector(name);
    ASSERT_TRUE(StunMessage::parse(full));
    ASSERT_TRUE(is_stun(full));
    for (size_t n = 0; n < full.size(); ++n) {
      std::vector<uint8_t> part(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(n));
      EXPECT_FALSE(StunMessage::parse(part)) << name << " " << n;
      EXPECT_FALSE(is_stun(part));
    }
  }
}

TEST(StunParse, RandomInputNeverOverReads) {
  // Valid headers with random bodies: whatever parses has every attribute inside.
  std::mt19937 rng(7);
  int parsed = 0;
  for (int i = 0; i < 20000; ++i) {
    std::vector<uint8_t> body(4 * (rng() % 16));
    for (auto& b : body)
      b = static_cast<uint8_t>(rng() % 4 == 0 ? rng() : rng() % 12);
    const auto m = raw_message(body);
    auto r = StunMessage::parse(m);
    if (!r) continue;
    ++parsed;
    for (const auto& a : *r) {
      ASSERT_GE(a.value.data(), m.data() + kStunHeaderSize);
      ASSERT_LE(a.value.data() + a.value.size(), m.data() + m.size());
    }
    ASSERT_EQ(is_stun(m), true);
  }
  EXPECT_GT(parsed, 100);
}

TEST(StunClassifier, VectorsAndBuiltMessages) {
  std::vector<uint8_t> out(kStunMaxUdpMessage);
  StunBuilder b(out, StunMethod::kAllocate, StunClass::kRequest, kId);
  b.add_requested_transport().add_fingerprint();
  EXPECT_TRUE(is_stun(*b.finish()));
  EXPECT_TRUE(is_stun(raw_message({})));
  auto odd = raw_message({1, 2, 3, 4}, 2);  // length not a multiple of 4
  odd.resize(22);
  EXPECT_FALSE(is_stun(odd));
  auto no_cookie = raw_message({});
  no_cookie[4] = 0;
  EXPECT_FALSE(is_stun(no_cookie));
}

TEST(StunClassifier, NeverClaimsWireGuardOrChannelData) {
  std::mt19937 rng(11);
  const size_t sizes[] = {kInitiationSize, kResponseSize, kCookieReplySize, 32, 48, 1420};
  const uint8_t types[] = {1, 2, 3, 4, 4, 4};
  for (int round = 0; round < 500; ++round) {
    for (size_t k = 0; k < 6; ++k) {
      std::vector<uint8_t> m(sizes[k]);
      for (auto& b : m)
        b = static_cast<uint8_t>(rng());
      m[0] = types[k];
      m[1] = m[2] = m[3] = 0;
      if (round % 2 == 0) {  // the worst case: a sender index equal to the cookie
        m[4] = 0x21, m[5] = 0x12, m[6] = 0xA4, m[7] = 0x42;
      }
      ASSERT_TRUE(classify(m).has_value());
      EXPECT_FALSE(is_stun(m));
      EXPECT_FALSE(is_channel_data(m));
      EXPECT_FALSE(StunMessage::parse(m));
    }
  }
}

TEST(StunNames, AttributesMethodsErrors) {
  EXPECT_EQ(stun_attribute_name(0x0020), "XOR-MAPPED-ADDRESS");
  EXPECT_EQ(stun_attribute_name(0x802C), "OTHER-ADDRESS");
  EXPECT_EQ(stun_attribute_name(0x0024), "unknown");
  EXPECT_TRUE(is_known_stun_attribute(0x001A));
  EXPECT_FALSE(is_known_stun_attribute(0x0024));
  EXPECT_EQ(stun_method_name(StunMethod::kChannelBind), "ChannelBind");
  EXPECT_EQ(stun_parse_error_name(StunParseError::kAttributeOverrun), "attribute_overrun");
}

}  // namespace
}  // namespace tern::wire

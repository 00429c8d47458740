// Every attribute the codec knows, built and parsed back; malformed values
// rejected by the typed decoders; the builder's limits.
#include "wire/stun_attributes.hpp"

#include <gtest/gtest.h>

#include <array>
#include <string>
#include <vector>

#include "stun_test_util.hpp"
#include "wire/stun_builder.hpp"

namespace tern::wire {
namespace {

using test::hex;
using test::unhex;

const TransactionId kId = {0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34, 0xd6, 0x86, 0xfa, 0x87, 0xdf, 0xae};

Endpoint ep(const char* s) {
  return *Endpoint::parse(s);
}

// Builds with `fill`, parses, returns the parsed message (the buffer lives in the fixture).
class StunRoundTrip : public ::testing::Test {
 protected:
  template <class Fill>
  StunMessage build(StunMethod method, StunClass cls, Fill fill) {
    StunBuilder b(buf_, method, cls, kId);
    fill(b);
    auto bytes = b.finish();
    EXPECT_TRUE(bytes.has_value());
    auto m = StunMessage::parse(bytes.value_or(Bytes{}));
    EXPECT_TRUE(m.has_value());
    return *m;
  }
  std::array<uint8_t, 2048> buf_{};
};

TEST_F(StunRoundTrip, AddressAttributesIpv4AndIpv6) {
  for (const char* text :
       {"192.0.2.1:32853", "203.0.113.7:0", "255.255.255.255:65535",
        "[2001:db8:1234:5678:11:2233:4455:6677]:32853", "[::]:1", "[fe80::1]:3478"}) {
    const Endpoint e = ep(text);
    auto m = build(StunMethod::kBinding, StunClass::kSuccess, [&](StunBuilder& b) {
      b.add_address(StunAttr::kMappedAddress, e)
          .add_xor_address(StunAttr::kXorMappedAddress, e)
          .add_xor_address(StunAttr::kXorPeerAddress, e)
          .add_xor_address(StunAttr::kXorRelayedAddress, e)
          .add_address(StunAttr::kOtherAddress, e)
          .add_address(StunAttr::kResponseOrigin, e)
          .add_address(StunAttr::kAlternateServer, e);
    });
    EXPECT_EQ(decode_address(m.find(StunAttr::kMappedAddress)->value), e) << text;
    for (auto a :
         {StunAttr::kXorMappedAddress, StunAttr::kXorPeerAddress, StunAttr::kXorRelayedAddress}) {
      const Bytes v = m.find(a)->value;
      EXPECT_EQ(v.size(), e.address.is_v4() ? 8u : 20u);
      EXPECT_EQ(decode_xor_address(v, kId), e) << text;
      // The XOR form is not the plain form (except by accident of all-zero masks).
      EXPECT_NE(decode_address(v), e) << text;
    }
    for (auto a : {StunAttr::kOtherAddress, StunAttr::kResponseOrigin, StunAttr::kAlternateServer})
      EXPECT_EQ(decode_address(m.find(a)->value), e) << text;
  }
}

TEST(StunAddress, XorBytesMatchTheRfc) {
  // RFC 5769 §2.2/2.3 values, encoded from typed endpoints.
  std::array<uint8_t, 20> out{};
  ASSERT_EQ(encode_xor_address(ep("192.0.2.1:32853"), kId, out), 8u);
  EXPECT_EQ(hex(Bytes(out).first(8)), "0001a147e112a643");
  ASSERT_EQ(encode_xor_address(ep("[2001:db8:1234:5678:11:2233:4455:6677]:32853"), kId, out), 20u);
  EXPECT_EQ(hex(out), "0002a1470113a9faa5d3f179bc25f4b5bed2b9d9");
  EXPECT_EQ(encode_xor_address(ep("[2001:db8::1]:1"), kId, MutableBytes(out).first(19)), 0u);
}

TEST(StunAddress, MalformedValues) {
  EXPECT_FALSE(decode_address(unhex("000100")));              // short
  EXPECT_FALSE(decode_address(unhex("00010001c00002")));      // IPv4 one byte short
  EXPECT_FALSE(decode_address(unhex("00010001c0000201ff")));  // IPv4 one byte long
  EXPECT_FALSE(decode_address(unhex("00030001c0000201")));    // family 3
  EXPECT_FALSE(decode_address(unhex("00020001c0000201")));    // IPv6 family, 4 bytes
  EXPECT_TRUE(decode_address(unhex("ff010001c0000201")));     // first byte is ignored
  EXPECT_EQ(decode_address(unhex("00010d96c0000201"))->to_string(), "192.0.2.1:3478");
}

TEST_F(StunRoundTrip, TextAttributes) {
  const std::string long_nonce(kStunMaxText, 'n');
  auto m = build(StunMethod::kAllocate, StunClass::kRequest, [&](StunBuilder& b) {
    b.add_text(StunAttr::kUsername, "1700000000:peer-a")
        .add_text(StunAttr::kRealm, "tern.example")
        .add_text(StunAttr::kNonce, long_nonce)
        .add_text(StunAttr::kSoftware, "tern 0.1");
  });
  EXPECT_EQ(decode_text(m.find(StunAttr::kUsername)->value, kStunMaxUsername), "1700000000:peer-a");
  EXPECT_EQ(decode_text(m.find(StunAttr::kRealm)->value, kStunMaxText), "tern.example");
  EXPECT_EQ(decode_text(m.find(StunAttr::kNonce)->value, kStunMaxText), long_nonce);
  EXPECT_EQ(decode_text(m.find(StunAttr::kSoftware)->value, kStunMaxText), "tern 0.1");
  // One byte over the limit is refused by the decoder.
  const std::string too_long(kStunMaxUsername + 1, 'u');
  EXPECT_FALSE(decode_text(test::text_bytes(too_long), kStunMaxUsername));
}

TEST_F(StunRoundTrip, ErrorCodeAndUnknownAttributes) {
  const std::array<uint16_t, 3> unknown = {0x0024, 0x7FFF, 0x0031};
  auto m = build(StunMethod::kAllocate, StunClass::kError, [&](StunBuilder& b) {
    b.add_error_code(stun_error::kUnknownAttribute, "Unknown Attribute")
        .add_unknown_attributes(unknown);
  });
  auto ec = decode_error_code(m.find(StunAttr::kErrorCode)->value);
  ASSERT_TRUE(ec);
  EXPECT_EQ(ec->code, 420);
  EXPECT_EQ(ec->reason, "Unknown Attribute");
  auto list = decode_unknown_attributes(m.find(StunAttr::kUnknownAttributes)->value);
  ASSERT_TRUE(list);
  ASSERT_EQ(list->size(), 3u);  // 6 bytes, padded to 8 on the wire
  EXPECT_EQ((*list)[0], 0x0024);
  EXPECT_EQ((*list)[1], 0x7FFF);
  EXPECT_EQ((*list)[2], 0x0031);

  for (uint16_t code : {300, 401, 437, 438, 441, 486, 508, 699}) {
    auto e = build(StunMethod::kRefresh, StunClass::kError,
                   [&](StunBuilder& b) { b.add_error_code(code, ""); });
    auto d = decode_error_code(e.find(StunAttr::kErrorCode)->value);
    ASSERT_TRUE(d);
    EXPECT_EQ(d->code, code);
    EXPECT_TRUE(d->reason.empty());
  }
}

TEST(StunErrorCode, EncodingAndMalformed) {
  // 401: class 4, number 1.
  EXPECT_EQ(decode_error_code(unhex("00000401"))->code, 401);
  EXPECT_EQ(decode_error_code(unhex("ffff0401"))->code, 401);  // reserved bits ignored
  EXPECT_FALSE(decode_error_code(unhex("000004")));            // short
  EXPECT_FALSE(decode_error_code(unhex("00000201")));          // class 2
  EXPECT_FALSE(decode_error_code(unhex("00000701")));          // class 7
  EXPECT_FALSE(decode_error_code(unhex("00000464")));          // number 100
  EXPECT_FALSE(decode_unknown_attributes(unhex("002400")));    // odd length
  std::array<uint8_t, 64> buf{};
  StunBuilder b(buf, StunMethod::kBinding, StunClass::kError, kId);
  b.add_error_code(200, "OK");
  EXPECT_FALSE(b.ok());
}

TEST_F(StunRoundTrip, TurnAttributes) {
  auto m = build(StunMethod::kAllocate, StunClass::kRequest, [&](StunBuilder& b) {
    b.add_requested_transport()
        .add_address_family(IpAddress::Family::kV6)
        .add_address_family(IpAddress::Family::kV4, StunAttr::kAdditionalAddressFamily)
        .add_lifetime(600)
        .add_dont_fragment()
        .add_channel_number(0x4001);
  });
  EXPECT_EQ(hex(m.find(StunAttr::kRequestedTransport)->value), "11000000");
  EXPECT_EQ(decode_requested_transport(m.find(StunAttr::kRequestedTransport)->value), kProtocolUdp);
  EXPECT_EQ(decode_address_family(m.find(StunAttr::kRequestedAddressFamily)->value),
            IpAddress::Family::kV6);
  EXPECT_EQ(decode_address_family(m.find(StunAttr::kAdditionalAddressFamily)->value),
            IpAddress::Family::kV4);
  EXPECT_EQ(decode_u32(m.find(StunAttr::kLifetime)->value), 600u);
  ASSERT_TRUE(m.find(StunAttr::kDontFragment));
  EXPECT_TRUE(m.find(StunAttr::kDontFragment)->value.empty());
  EXPECT_EQ(hex(m.find(StunAttr::kChannelNumber)->value), "40010000");
  EXPECT_EQ(decode_channel_number(m.find(StunAttr::kChannelNumber)->value), 0x4001);

  EXPECT_FALSE(decode_requested_transport(unhex("110000")));
  EXPECT_FALSE(decode_address_family(unhex("03000000")));
  EXPECT_FALSE(decode_address_family(unhex("0100")));
  EXPECT_FALSE(decode_u32(unhex("0000025800")));
  EXPECT_FALSE(decode_channel_number(unhex("4001")));
}

TEST_F(StunRoundTrip, SendAndDataIndicationsCarryData) {
  std::vector<uint8_t> payload(1200);
  for (size_t i = 0; i < payload.size(); ++i)
    payload[i] = static_cast<uint8_t>(i * 7);
  payload.resize(1197);  // not a multiple of 4: padding is added and stripped
  auto m = build(StunMethod::kSend, StunClass::kIndication, [&](StunBuilder& b) {
    b.add_xor_address(StunAttr::kXorPeerAddress, ep("198.51.100.9:51820")).add_data(payload);
  });
  EXPECT_EQ(m.type(), 0x0016);
  const Bytes data = m.find(StunAttr::kData)->value;
  EXPECT_EQ(std::vector<uint8_t>(data.begin(), data.end()), payload);
  EXPECT_EQ(m.bytes().size(), 20u + 12 + 4 + 1200);

  // In place: reserve DATA and write the payload straight into the message.
  std::array<uint8_t, 256> buf{};
  StunBuilder b(buf, StunMethod::kData, StunClass::kIndication, kId);
  b.add_xor_address(StunAttr::kXorPeerAddress, ep("198.51.100.9:51820"));
  auto slot = b.reserve(to_u16(StunAttr::kData), 5);
  ASSERT_TRUE(slot);
  std::copy_n("hello", 5, slot->begin());
  auto parsed = StunMessage::parse(*b.finish());
  ASSERT_TRUE(parsed);
  EXPECT_EQ(as_text(parsed->find(StunAttr::kData)->value), "hello");
}

TEST_F(StunRoundTrip, Rfc5780Attributes) {
  for (ChangeRequest r : {ChangeRequest{false, false}, ChangeRequest{true, false},
                          ChangeRequest{false, true}, ChangeRequest{true, true}}) {
    auto m = build(StunMethod::kBinding, StunClass::kRequest,
                   [&](StunBuilder& b) { b.add_change_request(r); });
    EXPECT_EQ(decode_change_request(m.find(StunAttr::kChangeRequest)->value), r);
  }
  EXPECT_EQ(hex(build(StunMethod::kBinding, StunClass::kRequest,
                      [](StunBuilder& b) {
                        b.add_change_request({true, true});
                      })
                    .find(StunAttr::kChangeRequest)
                    ->value),
            "00000006");
  EXPECT_FALSE(decode_change_request(unhex("0006")));
}

TEST_F(StunRoundTrip, CredentialAttributes) {
  Userhash h;
  for (size_t i = 0; i < h.size(); ++i)
    h[i] = static_cast<uint8_t>(0xA0 + i);
  const std::array<uint8_t, 3> params = {9, 8, 7};
  const std::array<PasswordAlgorithm, 3> algorithms = {
      PasswordAlgorithm{kPasswordAlgorithmSha256, {}}, PasswordAlgorithm{kPasswordAlgorithmMd5, {}},
      PasswordAlgorithm{0x7777, params}};
  auto m = build(StunMethod::kAllocate, StunClass::kError, [&](StunBuilder& b) {
    b.add_userhash(h).add_password_algorithms(algorithms).add_password_algorithm(algorithms[0]);
  });
  EXPECT_EQ(decode_userhash(m.find(StunAttr::kUserhash)->value), h);
  EXPECT_FALSE(decode_userhash(Bytes(h).first(31)));

  const Bytes list = m.find(StunAttr::kPasswordAlgorithms)->value;
  EXPECT_EQ(hex(list),
            "000200000001000077770003090807"
            "00");
  std::array<PasswordAlgorithm, 2> out{};
  ASSERT_EQ(decode_password_algorithms(list, out), 3u);  // three there, two written
  EXPECT_EQ(out[0].algorithm, kPasswordAlgorithmSha256);
  EXPECT_EQ(out[1].algorithm, kPasswordAlgorithmMd5);
  std::array<PasswordAlgorithm, 4> all{};
  ASSERT_EQ(decode_password_algorithms(list, all), 3u);
  EXPECT_EQ(all[2].algorithm, 0x7777);
  EXPECT_EQ(hex(all[2].parameters), "090807");

  auto one = decode_password_algorithm(m.find(StunAttr::kPasswordAlgorithm)->value);
  ASSERT_TRUE(one);
  EXPECT_EQ(one->algorithm, kPasswordAlgorithmSha256);
  EXPECT_FALSE(decode_password_algorithm(list));  // three entries, not one
  EXPECT_FALSE(decode_password_algorithms(unhex("000100"), all));
  EXPECT_FALSE(decode_password_algorithms(unhex("00010004aabb"), all));  // params overrun
}

TEST(StunBuilder, FailsCleanlyWhenTheBufferIsShort) {
  std::array<uint8_t, 40> buf{};
  StunBuilder b(buf, StunMethod::kBinding, StunClass::kRequest, kId);
  b.add_text(StunAttr::kSoftware, "0123456789ab");  // 20 + 16 = 36: fits
  ASSERT_TRUE(b.ok());
  b.add_lifetime(1);  // 8 more: does not
  EXPECT_FALSE(b.ok());
  EXPECT_FALSE(b.finish());
  EXPECT_EQ(b.size(), 36u);  // the message is left as it was
  auto m = StunMessage::parse(b.bytes());
  ASSERT_TRUE(m);
  EXPECT_EQ(as_text(m->find(StunAttr::kSoftware)->value), "0123456789ab");

  std::array<uint8_t, 19> tiny{};
  StunBuilder t(tiny, StunMethod::kBinding, StunClass::kRequest, kId);
  EXPECT_FALSE(t.ok());
  EXPECT_FALSE(t.reserve(0x8022, 0));
}

TEST(StunBuilder, RefusesValuesAndMessagesOver64k) {
  std::vector<uint8_t> buf(kStunMaxMessageSize + 100);
  std::vector<uint8_t> big(0x10000);
  StunBuilder b(buf, StunMethod::kSend, StunClass::kIndication, kId);
  b.add_data(big);
  EXPECT_FALSE(b.ok());
  StunBuilder c(buf, StunMethod::kSend, StunClass::kIndication, kId);
  c.add_data(Bytes(big).first(0xFFF0));  // 4 + 0xFFF0 = 0xFFF4
  ASSERT_TRUE(c.ok());
  c.add_lifetime(1);  // + 8 = 0xFFFC: still fits in the 16-bit length
  ASSERT_TRUE(c.ok());
  c.add_dont_fragment();  // + 4 = 0x10000: does not
  EXPECT_FALSE(c.ok());
}

}  // namespace
}  // namespace tern::wire

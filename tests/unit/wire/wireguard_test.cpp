#include "wire/wireguard.hpp"

#include <gtest/gtest.h>

#include <numeric>
#include <vector>

#include "crypto/hex_util.hpp"

namespace tern::wire {
namespace {

std::vector<uint8_t> message(uint8_t type, size_t size) {
  std::vector<uint8_t> m(size);
  std::iota(m.begin(), m.end(), uint8_t{0});
  m[0] = type;
  m[1] = m[2] = m[3] = 0;
  return m;
}

TEST(Classify, ExactSizesForHandshakeMessages) {
  EXPECT_EQ(classify(message(1, 148)), MessageType::kInitiation);
  EXPECT_EQ(classify(message(2, 92)), MessageType::kResponse);
  EXPECT_EQ(classify(message(3, 64)), MessageType::kCookieReply);
  for (size_t delta : {1, 16}) {
    EXPECT_FALSE(classify(message(1, 148 - delta)));
    EXPECT_FALSE(classify(message(1, 148 + delta)));
    EXPECT_FALSE(classify(message(2, 92 - delta)));
    EXPECT_FALSE(classify(message(2, 92 + delta)));
    EXPECT_FALSE(classify(message(3, 64 - delta)));
    EXPECT_FALSE(classify(message(3, 64 + delta)));
  }
}

TEST(Classify, TransportNeedsAtLeast32BytesButNoPaddingMultiple) {
  EXPECT_FALSE(classify(message(4, 31)));
  EXPECT_EQ(classify(message(4, 32)), MessageType::kTransport);
  EXPECT_EQ(classify(message(4, 33)), MessageType::kTransport);
  EXPECT_EQ(classify(message(4, 1500)), MessageType::kTransport);
}

TEST(Classify, RejectsOtherTypesAndNonZeroReserved) {
  EXPECT_FALSE(classify(message(0, 148)));
  EXPECT_FALSE(classify(message(5, 148)));
  EXPECT_FALSE(classify(message(0x41, 64)));
  for (size_t i = 1; i < 4; ++i) {
    auto m = message(1, 148);
    m[i] = 1;
    EXPECT_FALSE(classify(m));
  }
  EXPECT_FALSE(classify({}));
  std::vector<uint8_t> three = {4, 0, 0};
  EXPECT_FALSE(classify(three));
}

TEST(Initiation, FieldOffsetsAndRoundTrip) {
  auto m = message(1, 148);
  auto parsed = parse_initiation(m);
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->sender_index, 0x07060504u);  // little-endian bytes 4..7
  EXPECT_EQ(parsed->ephemeral[0], 8);
  EXPECT_EQ(parsed->encrypted_static[0], 40);
  EXPECT_EQ(parsed->encrypted_timestamp[0], 88);
  EXPECT_EQ(parsed->mac1[0], kInitiationMac1Offset);
  EXPECT_EQ(parsed->mac2[15], 147);
  std::vector<uint8_t> out(200);
  ASSERT_EQ(serialize(*parsed, out), 148u);
  EXPECT_TRUE(std::equal(m.begin(), m.end(), out.begin()));
  EXPECT_EQ(sender_index_of(m), 0x07060504u);
  EXPECT_FALSE(receiver_index_of(m));
}

TEST(Response, FieldOffsetsAndRoundTrip) {
  auto m = message(2, 92);
  auto parsed = parse_response(m);
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->sender_index, 0x07060504u);
  EXPECT_EQ(parsed->receiver_index, 0x0b0a0908u);
  EXPECT_EQ(parsed->ephemeral[0], 12);
  EXPECT_EQ(parsed->encrypted_nothing[0], 44);
  EXPECT_EQ(parsed->mac1[0], kResponseMac1Offset);
  EXPECT_EQ(parsed->mac2[0], 76);
  std::vector<uint8_t> out(92);
  ASSERT_EQ(serialize(*parsed, out), 92u);
  EXPECT_EQ(out, m);
  EXPECT_EQ(sender_index_of(m), 0x07060504u);
  EXPECT_EQ(receiver_index_of(m), 0x0b0a0908u);
}

TEST(CookieReply, FieldOffsetsAndRoundTrip) {
  auto m = message(3, 64);
  auto parsed = parse_cookie_reply(m);
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->receiver_index, 0x07060504u);
  EXPECT_EQ(parsed->nonce[0], 8);
  EXPECT_EQ(parsed->encrypted_cookie[0], 32);
  std::vector<uint8_t> out(64);
  ASSERT_EQ(serialize(*parsed, out), 64u);
  EXPECT_EQ(out, m);
  EXPECT_EQ(receiver_index_of(m), 0x07060504u);
  EXPECT_FALSE(sender_index_of(m));
}

TEST(Transport, ViewAndHeader) {
  auto m = message(4, 48);
  auto v = parse_transport(m);
  ASSERT_TRUE(v);
  EXPECT_EQ(v->receiver_index, 0x07060504u);
  EXPECT_EQ(v->counter, 0x0f0e0d0c0b0a0908u);
  EXPECT_EQ(v->encrypted.data(), m.data() + 16);
  EXPECT_EQ(v->encrypted.size(), 32u);
  std::vector<uint8_t> header(16);
  ASSERT_EQ(serialize_transport_header(v->receiver_index, v->counter, header), 16u);
  EXPECT_TRUE(std::equal(header.begin(), header.end(), m.begin()));
  EXPECT_EQ(receiver_index_of(m), 0x07060504u);
}

TEST(Parse, WrongTypeIsRejected) {
  auto init = message(1, 148);
  EXPECT_FALSE(parse_response(init));
  EXPECT_FALSE(parse_cookie_reply(init));
  EXPECT_FALSE(parse_transport(init));
  auto resp = message(2, 92);
  EXPECT_FALSE(parse_initiation(resp));
}

TEST(Serialize, TooSmallBufferGivesZero) {
  std::vector<uint8_t> small(147);
  EXPECT_EQ(serialize(Initiation{}, small), 0u);
  EXPECT_EQ(serialize(Response{}, MutableBytes(small.data(), 91)), 0u);
  EXPECT_EQ(serialize(CookieReply{}, MutableBytes(small.data(), 63)), 0u);
  EXPECT_EQ(serialize_transport_header(1, 2, MutableBytes(small.data(), 15)), 0u);
}

}  // namespace
}  // namespace tern::wire

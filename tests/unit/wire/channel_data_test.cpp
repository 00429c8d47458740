// TURN ChannelData: parse and write, padding rules, the two channel ranges
// (RFC 8656's and RFC 5766's wider one), and the shared-socket classifier.
#include "wire/channel_data.hpp"

#include <gtest/gtest.h>

#include <array>
#include <vector>

#include "crypto/hex_util.hpp"
#include "wire/stun.hpp"

namespace tern::wire {
namespace {

using test::hex;
using test::unhex;

TEST(ChannelData, ParseAndFields) {
  const auto m = unhex(
      "40010005"
      "68656c6c6f");
  auto v = parse_channel_data(m);
  ASSERT_TRUE(v);
  EXPECT_EQ(v->channel, 0x4001);
  EXPECT_EQ(hex(v->data), "68656c6c6f");
  EXPECT_EQ(v->data.data(), m.data() + 4);
}

TEST(ChannelData, PaddingIsOptionalOverUdpAndIgnored) {
  auto padded = unhex(
      "4fff0003"
      "616263"
      "00");
  auto v = parse_channel_data(padded);
  ASSERT_TRUE(v);
  EXPECT_EQ(v->channel, 0x4FFF);
  EXPECT_EQ(v->data.size(), 3u);
  auto unpadded = unhex(
      "4fff0003"
      "616263");
  EXPECT_TRUE(parse_channel_data(unpadded));
  auto empty = unhex("40000000");
  ASSERT_TRUE(parse_channel_data(empty));
  EXPECT_TRUE(parse_channel_data(empty)->data.empty());
}

TEST(ChannelData, Malformed) {
  EXPECT_EQ(parse_channel_data(unhex("400000")).error(), ChannelDataError::kTooShort);
  EXPECT_EQ(parse_channel_data(unhex("00010000")).error(), ChannelDataError::kNotChannelData);
  EXPECT_EQ(parse_channel_data(unhex("80010000")).error(), ChannelDataError::kNotChannelData);
  for (const char* reserved : {"50000000", "5fff0000", "7fff0000"}) {
    EXPECT_EQ(parse_channel_data(unhex(reserved)).error(), ChannelDataError::kReservedChannel);
  }
  EXPECT_EQ(parse_channel_data(unhex("40000005"
                                     "61626364"))
                .error(),
            ChannelDataError::kBadLength);
  EXPECT_EQ(channel_data_error_name(ChannelDataError::kReservedChannel), "reserved_channel");
  EXPECT_EQ(channel_data_error_name(ChannelDataError::kBadLength), "bad_length");
}

TEST(ChannelData, WriteWithAndWithoutPadding) {
  std::array<uint8_t, 16> out{};
  const auto data = unhex("616263");
  ASSERT_EQ(write_channel_data(0x4abc, data, /*pad=*/false, out), 7u);
  EXPECT_EQ(hex(Bytes(out).first(7)), "4abc0003616263");
  out.fill(0xEE);
  ASSERT_EQ(write_channel_data(0x4abc, data, /*pad=*/true, out), 8u);
  EXPECT_EQ(hex(Bytes(out).first(8)), "4abc000361626300");
  EXPECT_EQ(channel_data_size(3, true), 8u);
  EXPECT_EQ(channel_data_size(4, true), 8u);
  EXPECT_EQ(channel_data_size(4, false), 8u);
  EXPECT_EQ(channel_data_size(0, true), 4u);
}

TEST(ChannelData, WriteRefusals) {
  std::array<uint8_t, 16> out{};
  const auto data = unhex("616263");
  EXPECT_EQ(write_channel_data(0x3fff, data, false, out), 0u);
  EXPECT_EQ(write_channel_data(0x8000, data, false, out), 0u);
  EXPECT_EQ(write_channel_data(0xffff, data, false, out), 0u);
  EXPECT_EQ(write_channel_data(0x4000, data, true, MutableBytes(out).first(7)), 0u);
  EXPECT_EQ(write_channel_data_header(0x4000, 0x10000, out), 0u);
  EXPECT_EQ(write_channel_data_header(0x4000, 0xFFFF, out), 4u);
  EXPECT_EQ(hex(Bytes(out).first(4)), "4000ffff");
}

TEST(ChannelData, HeaderInPlaceBeforeThePayload) {
  // The hot path: the payload already sits after 4 bytes of headroom.
  std::vector<uint8_t> packet = {0, 0, 0, 0, 'w', 'g', '!', '?', 1};
  ASSERT_EQ(write_channel_data_header(0x4123, packet.size() - 4, packet), 4u);
  auto v = parse_channel_data(packet);
  ASSERT_TRUE(v);
  EXPECT_EQ(v->channel, 0x4123);
  EXPECT_EQ(v->data.size(), 5u);
}

TEST(ChannelData, Rfc5766RangeWhenAsked) {
  // RFC 8656 reserves 0x5000-0x7FFF; RFC 5766 clients (coturn's uclient) use them,
  // so the relay accepts them.
  for (const char* m : {"50000001ab", "5fff0001ab", "7fff0001ab"}) {
    const auto bytes = unhex(m);
    EXPECT_EQ(parse_channel_data(bytes).error(), ChannelDataError::kReservedChannel) << m;
    auto v = parse_channel_data(bytes, ChannelRange::kRfc5766);
    ASSERT_TRUE(v) << m;
    EXPECT_EQ(hex(v->data), "ab");
  }
  const auto last = unhex("7fff0001ab");
  EXPECT_EQ(parse_channel_data(last, ChannelRange::kRfc5766)->channel, 0x7FFF);
  for (const auto range : {ChannelRange::kRfc8656, ChannelRange::kRfc5766}) {
    EXPECT_FALSE(is_valid_channel(0x3FFF, range));
    EXPECT_TRUE(is_valid_channel(0x4000, range));
    EXPECT_TRUE(is_valid_channel(0x4FFF, range));
    EXPECT_EQ(is_valid_channel(0x5000, range), range == ChannelRange::kRfc5766);
    EXPECT_EQ(is_valid_channel(0x7FFF, range), range == ChannelRange::kRfc5766);
    EXPECT_FALSE(is_valid_channel(0x8000, range));
  }
  // The default is RFC 8656's, what tern's own client binds.
  EXPECT_FALSE(is_valid_channel(0x5000));
  // Anything bound may be written: a relay answers on the client's channel.
  std::array<uint8_t, 8> out{};
  ASSERT_EQ(write_channel_data(0x7FFF, Bytes(last).subspan(4), false, out), 5u);
  EXPECT_EQ(hex(Bytes(out).first(5)), "7fff0001ab");
}

TEST(ChannelData, RoundTripEveryValidChannel) {
  std::array<uint8_t, 8> out{};
  const std::array<uint8_t, 1> one = {0x5A};
  for (uint32_t c = kChannelMin; c <= kChannelMaxRfc5766; ++c) {
    ASSERT_EQ(write_channel_data(static_cast<uint16_t>(c), one, true, out), 8u);
    EXPECT_EQ(parse_channel_data(out).has_value(), c <= kChannelMax);
    auto v = parse_channel_data(out, ChannelRange::kRfc5766);
    ASSERT_TRUE(v);
    ASSERT_EQ(v->channel, c);
    ASSERT_EQ(v->data.size(), 1u);
  }
}

TEST(ChannelData, ClassifierIsFirstByte0x40To0x7F) {
  for (int b = 0; b < 256; ++b) {
    std::array<uint8_t, 4> m = {static_cast<uint8_t>(b), 0, 0, 0};
    EXPECT_EQ(is_channel_data(m), b >= 0x40 && b <= 0x7F) << b;
    // Exactly the messages whose channel the relay accepts.
    EXPECT_EQ(is_channel_data(m),
              is_valid_channel(static_cast<uint16_t>(b << 8), ChannelRange::kRfc5766))
        << b;
    // Disjoint from STUN by the top bits.
    EXPECT_FALSE(is_channel_data(m) && (m[0] & 0xC0) == 0);
  }
  EXPECT_FALSE(is_channel_data(unhex("400000")));
  EXPECT_FALSE(is_stun(unhex("40010000")));
}

}  // namespace
}  // namespace tern::wire

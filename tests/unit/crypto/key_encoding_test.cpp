#include "crypto/key_encoding.hpp"

#include <gtest/gtest.h>

#include <random>
#include <string>

namespace tern::crypto {
namespace {

// A public key and its UAPI form, as `wg pubkey` printed it and `wg set` sent it.
constexpr std::string_view kWgBase64 = "L9fcc9AsmYhnqKrQ+33qOmSVMSzLMkRwvhiQoLVmk0M=";
constexpr std::string_view kWgHex =
    "2fd7dc73d02c998867a8aad0fb7dea3a6495312ccb324470be1890a0b5669343";

Key random_key(std::mt19937& rng) {
  Key k;
  for (auto& b : k)
    b = static_cast<uint8_t>(rng());
  return k;
}

TEST(KeyEncoding, MatchesWhatWgPrintsAndSends) {
  auto from_b64 = key_from_base64(kWgBase64);
  ASSERT_TRUE(from_b64) << from_b64.error().message;
  auto from_hex = key_from_hex(kWgHex);
  ASSERT_TRUE(from_hex) << from_hex.error().message;
  EXPECT_EQ(*from_b64, *from_hex);
  EXPECT_EQ(key_to_base64(*from_hex), kWgBase64);
  EXPECT_EQ(key_to_hex(*from_b64), kWgHex);
  EXPECT_EQ((*from_b64)[0], 0x2f);
  EXPECT_EQ((*from_b64)[31], 0x43);
}

TEST(KeyEncoding, ZeroKey) {
  Key zero{};
  EXPECT_EQ(key_to_base64(zero), std::string(43, 'A') + "=");
  EXPECT_EQ(key_to_hex(zero), std::string(64, '0'));
  EXPECT_EQ(key_from_base64(std::string(43, 'A') + "=").value(), zero);
}

TEST(KeyEncoding, RoundTripsRandomKeys) {
  std::mt19937 rng(7);
  for (int i = 0; i < 1000; ++i) {
    Key k = random_key(rng);
    std::string b64 = key_to_base64(k);
    std::string hex = key_to_hex(k);
    ASSERT_EQ(b64.size(), kKeyBase64Length);
    ASSERT_EQ(b64.back(), '=');
    ASSERT_EQ(hex.size(), kKeyHexLength);
    for (char c : hex)
      ASSERT_TRUE((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')) << hex;
    EXPECT_EQ(key_from_base64(b64).value(), k);
    EXPECT_EQ(key_from_hex(hex).value(), k);
  }
}

TEST(KeyEncoding, HexAcceptsUppercase) {
  std::string upper(kWgHex);
  for (char& c : upper)
    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  EXPECT_EQ(key_from_hex(upper).value(), key_from_hex(kWgHex).value());
}

TEST(KeyEncoding, RejectsBadBase64WithAMessageThatSaysWhatAKeyIs) {
  const std::string good(kWgBase64);
  const std::string bad[] = {
      "",
      good.substr(0, 43),         // no padding
      good + "=",                 // too long
      good.substr(0, 42) + "==",  // 31 bytes
      good.substr(0, 43) + "A",   // 44 characters but no '='
      "*" + good.substr(1),       // not in the alphabet
      "-" + good.substr(1),       // URL-safe alphabet
      " " + good.substr(1),       // whitespace inside
      good.substr(0, 42) + "N=",  // trailing bits set: no 32-byte key encodes to this
  };
  for (const auto& text : bad) {
    auto k = key_from_base64(text);
    ASSERT_FALSE(k) << text;
    EXPECT_NE(k.error().message.find("a WireGuard key is 44 base64 characters ending in '='"),
              std::string::npos)
        << k.error().message;
  }
}

TEST(KeyEncoding, ErrorsDoNotEchoTheKey) {
  std::string text = std::string(kWgBase64.substr(0, 43)) + "A";
  auto k = key_from_base64(text);
  ASSERT_FALSE(k);
  EXPECT_EQ(k.error().message.find(text), std::string::npos);
}

TEST(KeyEncoding, RejectsBadHex) {
  const std::string good(kWgHex);
  const std::string bad[] = {"",
                             good.substr(0, 63),
                             good + "0",
                             "g" + good.substr(1),
                             " " + good.substr(1),
                             good.substr(0, 62) + ":0"};
  for (const auto& text : bad) {
    auto k = key_from_hex(text);
    ASSERT_FALSE(k) << text;
    EXPECT_NE(k.error().message.find("64 hex digits"), std::string::npos) << k.error().message;
  }
}

}  // namespace
}  // namespace tern::crypto

#include "crypto/aead.hpp"

#include <gtest/gtest.h>
#include <sodium.h>

#include <string_view>
#include <vector>

#include "crypto/hex_util.hpp"
#include "crypto/sodium.hpp"

namespace tern::crypto {
namespace {

using test::hex;
using test::unhex;
using test::unhex_array;

constexpr std::string_view kSunscreen =
    "Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, "
    "sunscreen would be it.";

std::vector<uint8_t> sunscreen() {
  return {kSunscreen.begin(), kSunscreen.end()};
}

Key test_key() {
  return unhex_array<32>("808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f");
}

constexpr char kRfc8439Ciphertext[] =
    "d31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d63dbea45e8ca9671282fafb69da9272"
    "8b1a71de0a9e060b2905d6a5b67ecd3b3692ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b4831"
    "d7bc3ff4def08e4b7a9de576d26586cec64b6116";

// RFC 8439 §2.8.2 through libsodium directly: its nonce (07000000 + 8 bytes) is not of
// WireGuard's form, so this checks the library, and the next test checks our nonce layout.
TEST(Aead, Rfc8439VectorThroughLibsodium) {
  ASSERT_TRUE(ensure_sodium());
  auto pt = sunscreen();
  auto ad = unhex("50515253c0c1c2c3c4c5c6c7");
  auto nonce = unhex("070000004041424344454647");
  Key key = test_key();
  std::vector<uint8_t> out(pt.size() + 16);
  crypto_aead_chacha20poly1305_ietf_encrypt(out.data(), nullptr, pt.data(), pt.size(), ad.data(),
                                            ad.size(), nullptr, nonce.data(), key.data());
  EXPECT_EQ(hex(std::vector<uint8_t>(out.begin(), out.end() - 16)), kRfc8439Ciphertext);
  EXPECT_EQ(hex(std::vector<uint8_t>(out.end() - 16, out.end())),
            "1ae10b594f09e26a7e902ecbd0600691");
}

TEST(Aead, NonceIsFourZeroBytesThenLittleEndianCounter) {
  auto pt = sunscreen();
  auto ad = unhex("50515253c0c1c2c3c4c5c6c7");
  Key key = test_key();
  const uint64_t counter = 0x4746454443424140;
  auto nonce = unhex("000000004041424344454647");
  std::vector<uint8_t> expected(pt.size() + 16);
  crypto_aead_chacha20poly1305_ietf_encrypt(expected.data(), nullptr, pt.data(), pt.size(),
                                            ad.data(), ad.size(), nullptr, nonce.data(),
                                            key.data());
  std::vector<uint8_t> out(pt.size() + 16);
  ASSERT_TRUE(aead_seal(key, counter, pt, ad, out));
  EXPECT_EQ(out, expected);
}

TEST(Aead, RoundTripOutOfPlaceAndInPlace) {
  Key key = test_key();
  auto pt = sunscreen();
  auto ad = unhex("0102");
  std::vector<uint8_t> ct(pt.size() + 16);
  ASSERT_TRUE(aead_seal(key, 42, pt, ad, ct));

  std::vector<uint8_t> back(pt.size());
  ASSERT_TRUE(aead_open(key, 42, ct, ad, back));
  EXPECT_EQ(back, pt);

  // In place: ciphertext and plaintext share the buffer's start.
  std::vector<uint8_t> buf(pt.size() + 16);
  std::copy(pt.begin(), pt.end(), buf.begin());
  ASSERT_TRUE(aead_seal(key, 42, Bytes(buf.data(), pt.size()), ad, buf));
  EXPECT_EQ(buf, ct);
  ASSERT_TRUE(aead_open(key, 42, buf, ad, buf));
  EXPECT_TRUE(std::equal(pt.begin(), pt.end(), buf.begin()));
}

TEST(Aead, RejectsTamperingWrongCounterWrongAdWrongKey) {
  Key key = test_key();
  auto pt = sunscreen();
  auto ad = unhex("0102");
  std::vector<uint8_t> ct(pt.size() + 16);
  ASSERT_TRUE(aead_seal(key, 7, pt, ad, ct));
  std::vector<uint8_t> out(pt.size());

  EXPECT_FALSE(aead_open(key, 8, ct, ad, out));
  EXPECT_FALSE(aead_open(key, 7, ct, unhex("0103"), out));
  Key other = key;
  other[0] ^= 1;
  EXPECT_FALSE(aead_open(other, 7, ct, ad, out));
  for (size_t i : {size_t{0}, pt.size() - 1, pt.size(), ct.size() - 1}) {
    auto bad = ct;
    bad[i] ^= 0x80;
    EXPECT_FALSE(aead_open(key, 7, bad, ad, out)) << "flipped byte " << i;
  }
}

TEST(Aead, EmptyPlaintextIsJustATag) {
  Key key = test_key();
  std::array<uint8_t, 16> tag{};
  ASSERT_TRUE(aead_seal(key, 0, {}, {}, tag));
  std::array<uint8_t, 0> nothing{};
  EXPECT_TRUE(aead_open(key, 0, tag, {}, nothing));
  tag[3] ^= 1;
  EXPECT_FALSE(aead_open(key, 0, tag, {}, nothing));
}

TEST(Aead, SizeChecks) {
  Key key = test_key();
  std::array<uint8_t, 20> pt{};
  std::array<uint8_t, 35> small{};
  EXPECT_FALSE(aead_seal(key, 0, pt, {}, small));
  std::array<uint8_t, 15> short_ct{};
  std::array<uint8_t, 64> out{};
  EXPECT_FALSE(aead_open(key, 0, short_ct, {}, out));
  std::array<uint8_t, 36> ct{};
  ASSERT_TRUE(aead_seal(key, 0, pt, {}, ct));
  std::array<uint8_t, 19> too_small{};
  EXPECT_FALSE(aead_open(key, 0, ct, {}, too_small));
}

// draft-irtf-cfrg-xchacha-03 §A.3.1.
TEST(XAead, DraftVector) {
  auto pt = sunscreen();
  auto ad = unhex("50515253c0c1c2c3c4c5c6c7");
  XNonce nonce = unhex_array<24>("404142434445464748494a4b4c4d4e4f5051525354555657");
  Key key = test_key();
  std::vector<uint8_t> out(pt.size() + 16);
  ASSERT_TRUE(xaead_seal(key, nonce, pt, ad, out));
  EXPECT_EQ(hex(std::vector<uint8_t>(out.begin(), out.end() - 16)),
            "bd6d179d3e83d43b9576579493c0e939572a1700252bfaccbed2902c21396cbb731c7f1b0b4aa6440bf3a8"
            "2f4eda7e39ae64c6708c54c216cb96b72e1213b4522f8c9ba40db5d945b11b69b982c1bb9e3f3fac2bc369"
            "488f76b2383565d3fff921f9664c97637da9768812f615c68b13b52e");
  EXPECT_EQ(hex(std::vector<uint8_t>(out.end() - 16, out.end())),
            "c0875924c1c7987947deafd8780acf49");

  std::vector<uint8_t> back(pt.size());
  ASSERT_TRUE(xaead_open(key, nonce, out, ad, back));
  EXPECT_EQ(back, pt);
  out[5] ^= 1;
  EXPECT_FALSE(xaead_open(key, nonce, out, ad, back));
}

}  // namespace
}  // namespace tern::crypto

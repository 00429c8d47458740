#include "crypto/hmac_sha.hpp"

#include <gtest/gtest.h>

#include <string_view>
#include <vector>

#include "crypto/digest.hpp"
#include "crypto/hex_util.hpp"

namespace tern::crypto {
namespace {

using test::hex;

Bytes text(std::string_view s) {
  return Bytes(reinterpret_cast<const uint8_t*>(s.data()), s.size());
}

TEST(HmacSha, Rfc2202AndRfc4231KnownAnswers) {
  const std::vector<uint8_t> key(20, 0x0b);
  EXPECT_EQ(hex(hmac_sha1(key, {text("Hi There")})), "b617318655057264e28bc0b6fb378c8ef146be00");
  EXPECT_EQ(hex(hmac_sha256(key, {text("Hi There")})),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
  EXPECT_EQ(hex(hmac_sha1(text("Jefe"), {text("what do ya want for nothing?")})),
            "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79");
  EXPECT_EQ(hex(hmac_sha256(text("Jefe"), {text("what do ya want for nothing?")})),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(HmacSha, EmptyKeyAndMessage) {
  EXPECT_EQ(hex(hmac_sha1({}, {})), "fbdb1d1b18aa6c08324b7d64b71fb76370690e1d");
  EXPECT_EQ(hex(hmac_sha256({}, {})),
            "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad");
}

TEST(HmacSha, PartsAreConcatenated) {
  EXPECT_EQ(hmac_sha1(text("k"), {text("wh"), {}, text("at do ya")}),
            hmac_sha1(text("k"), {text("what do ya")}));
  EXPECT_EQ(hmac_sha256(text("k"), {text("a"), text("bc")}), hmac_sha256(text("k"), {text("abc")}));
  EXPECT_NE(hmac_sha1(text("k"), {text("abc")}), hmac_sha1(text("K"), {text("abc")}));
}

TEST(Digest, KnownAnswers) {
  EXPECT_EQ(hex(md5({})), "d41d8cd98f00b204e9800998ecf8427e");
  EXPECT_EQ(hex(md5({text("abc")})), "900150983cd24fb0d6963f7d28e17f72");
  EXPECT_EQ(hex(md5({text("a"), text(""), text("bc")})), "900150983cd24fb0d6963f7d28e17f72");
  EXPECT_EQ(hex(sha256({text("abc")})),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(hex(sha256({text("ab"), text("c")})),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

}  // namespace
}  // namespace tern::crypto

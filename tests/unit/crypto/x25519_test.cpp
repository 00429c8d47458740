#include "crypto/x25519.hpp"

#include <gtest/gtest.h>

#include "crypto/hex_util.hpp"
#include "crypto/memory.hpp"
#include "crypto/random.hpp"

namespace tern::crypto {
namespace {

using test::hex;
using test::unhex_array;

// RFC 7748 §6.1.
TEST(X25519, Rfc7748Vector) {
  Key alice = unhex_array<32>("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a");
  Key bob = unhex_array<32>("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb");
  Key alice_pub = public_key_from_private(alice);
  Key bob_pub = public_key_from_private(bob);
  EXPECT_EQ(hex(alice_pub), "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a");
  EXPECT_EQ(hex(bob_pub), "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f");
  auto s1 = dh(alice, bob_pub);
  auto s2 = dh(bob, alice_pub);
  ASSERT_TRUE(s1 && s2);
  EXPECT_EQ(hex(*s1), "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742");
  EXPECT_EQ(*s1, *s2);
}

TEST(X25519, GeneratedKeysAreClampedAndAgree) {
  for (int i = 0; i < 20; ++i) {
    Key a = generate_private_key();
    Key b = generate_private_key();
    EXPECT_EQ(a[0] & 7, 0);
    EXPECT_EQ(a[31] & 128, 0);
    EXPECT_EQ(a[31] & 64, 64);
    EXPECT_EQ(clamp_private_key(a), a);
    EXPECT_NE(a, b);
    auto ab = dh(a, public_key_from_private(b));
    auto ba = dh(b, public_key_from_private(a));
    ASSERT_TRUE(ab && ba);
    EXPECT_EQ(*ab, *ba);
  }
}

TEST(X25519, Clamp) {
  Key k;
  k.fill(0xff);
  Key c = clamp_private_key(k);
  EXPECT_EQ(c[0], 0xf8);
  EXPECT_EQ(c[31], 0x7f);
  k.fill(0);
  c = clamp_private_key(k);
  EXPECT_EQ(c[31], 0x40);
}

TEST(X25519, LowOrderPointsGiveNoSharedSecret) {
  Key priv = generate_private_key();
  // Points of small order (from the libsodium / kernel blocklists): 0, 1, and one of order 8.
  const Key low_order[] = {
      Key{},
      unhex_array<32>("0100000000000000000000000000000000000000000000000000000000000000"),
      unhex_array<32>("e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800"),
      unhex_array<32>("5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157"),
  };
  for (const Key& p : low_order)
    EXPECT_FALSE(dh(priv, p).has_value()) << hex(p);
}

TEST(Memory, WipeAndCompare) {
  Key k;
  random_bytes(k);
  Key copy = k;
  EXPECT_TRUE(equal_ct(k, copy));
  copy[31] ^= 1;
  EXPECT_FALSE(equal_ct(k, copy));
  EXPECT_FALSE(equal_ct(Bytes(k.data(), 31), k));
  EXPECT_TRUE(equal_ct({}, {}));
  secure_wipe(k);
  EXPECT_EQ(k, Key{});
  EXPECT_TRUE(is_zero_ct(k));
  EXPECT_FALSE(is_zero_ct(copy));
}

TEST(Random, UniformStaysInRange) {
  for (int i = 0; i < 1000; ++i)
    EXPECT_LT(random_uniform(7), 7u);
  EXPECT_EQ(random_uniform(0), 0u);
}

}  // namespace
}  // namespace tern::crypto

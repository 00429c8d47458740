#include "crypto/blake2s.hpp"

#include <gtest/gtest.h>

#include <string_view>

#include "crypto/hex_util.hpp"

namespace tern::crypto {
namespace {

using test::hex;
using test::unhex;

Bytes text(std::string_view s) {
  return Bytes(reinterpret_cast<const uint8_t*>(s.data()), s.size());
}

std::vector<uint8_t> range_bytes(size_t n) {
  std::vector<uint8_t> v(n);
  for (size_t i = 0; i < n; ++i)
    v[i] = static_cast<uint8_t>(i);
  return v;
}

TEST(Blake2s, HashKnownAnswers) {
  // RFC 7693 Appendix B.
  EXPECT_EQ(hex(hash(text("abc"))),
            "508c5e8c327c14e2e1a72ba34eeb452f37458b209ed63a294d999b4c86675982");
  EXPECT_EQ(hex(hash({})), "69217a3079908094e11121d042354a7c1f55b6482ca1a51e1b250dfd1ed0eef9");
}

TEST(Blake2s, HashOfTwoPartsIsHashOfConcatenation) {
  EXPECT_EQ(hash(text("ab"), text("c")), hash(text("abc")));
  EXPECT_EQ(hash({}, text("abc")), hash(text("abc")));
}

// Expected values from Python's hashlib / hmac (an independent BLAKE2s).
TEST(Blake2s, KeyedMac16) {
  auto key32 = range_bytes(32);
  auto key16 = range_bytes(16);
  EXPECT_EQ(hex(mac(key32, text("hello wireguard"))), "d7ced850c9c0917a705fad04539c3a01");
  EXPECT_EQ(hex(mac(key16, {})), "af4e5d3bb230e9ff9096ca6f7c501f76");
}

TEST(Blake2s, Hmac) {
  auto key32 = range_bytes(32);
  EXPECT_EQ(hex(hmac(key32, text("hello wireguard"))),
            "c030854166ba79dbc4432ec45565144a37b3729a58feda7e75a70add8d0fd74a");
  // A key longer than the 64-byte block is hashed first (RFC 2104).
  auto key100 = range_bytes(100);
  std::string x(200, 'x');
  EXPECT_EQ(hex(hmac(key100, text(x))),
            "834cd67f8ca0de35dfcdfff1510ae170f5850f5455aba1c085196c441d7ca7d9");
  EXPECT_EQ(hmac(key32, text("hello "), text("wireguard")), hmac(key32, text("hello wireguard")));
}

// wireguard-go device/kdf_test.go vectors.
struct KdfVector {
  const char* key;
  const char* input;
  const char* t0;
  const char* t1;
  const char* t2;
};

constexpr KdfVector kKdfVectors[] = {
    {"746573742d6b6579", "746573742d696e707574",
     "6f0e5ad38daba1bea8a0d213688736f19763239305e0f58aba697f9ffc41c633",
     "df1194df20802a4fe594cde27e92991c8cae66c366e8106aaa937a55fa371e8a",
     "fac6e2745a325f5dc5d11a5b165aad08b0ada28e7b4e666b7c077934a4d76c24"},
    {"776972656775617264", "776972656775617264",
     "491d43bbfdaa8750aaf535e334ecbfe5129967cd64635101c566d4caefda96e8",
     "1e71a379baefd8a79aa4662212fcafe19a23e2b609a3db7d6bcba8f560e3d25f",
     "31e1ae48bddfbe5de38f295e5452b1909a1b4e38e183926af3780b0c1e1f0160"},
    {"", "", "8387b46bf43eccfcf349552a095d8315c4055beb90208fb1be23b894bc2ed5d0",
     "58a0e5f6faefccf4807bff1f05fa8a9217945762040bcec2f4b4a62bdfe0e86e",
     "0ce6ea98ec548f8e281e93e32db65621c45eb18dc6f0a7ad94178610a2f7338e"},
};

TEST(Kdf, WireguardGoVectors) {
  for (const auto& v : kKdfVectors) {
    auto key = unhex(v.key);
    auto input = unhex(v.input);
    Key t0, t1, t2;
    kdf3(t0, t1, t2, key, input);
    EXPECT_EQ(hex(t0), v.t0);
    EXPECT_EQ(hex(t1), v.t1);
    EXPECT_EQ(hex(t2), v.t2);
    Key u0, u1;
    kdf2(u0, u1, key, input);
    EXPECT_EQ(hex(u0), v.t0);
    EXPECT_EQ(hex(u1), v.t1);
    Key w0;
    kdf1(w0, key, input);
    EXPECT_EQ(hex(w0), v.t0);
  }
}

TEST(Kdf, OutputMayAliasTheKey) {
  Key ck{};
  ck[0] = 7;
  Key expected1, expected2;
  kdf2(expected1, expected2, ck, text("input"));
  Key k2;
  kdf2(ck, k2, ck, text("input"));
  EXPECT_EQ(ck, expected1);
  EXPECT_EQ(k2, expected2);
}

}  // namespace
}  // namespace tern::crypto

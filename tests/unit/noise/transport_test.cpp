#include "noise/transport.hpp"

#include <gtest/gtest.h>

#include <vector>

#include "crypto/random.hpp"

namespace tern::noise {
namespace {

crypto::Key random_key() {
  crypto::Key k;
  crypto::random_bytes(k);
  return k;
}

std::vector<uint8_t> random_payload(size_t n) {
  std::vector<uint8_t> v(n);
  crypto::random_bytes(v);
  return v;
}

TEST(Transport, RoundTrip) {
  auto key = random_key();
  for (size_t n : {0, 16, 1280, 1420}) {
    auto pt = random_payload(n);
    std::vector<uint8_t> msg(n + kTransportOverhead);
    ASSERT_EQ(encrypt_transport(key, 0xdeadbeef, 77, pt, msg), n + 32);
    auto view = wire::parse_transport(msg);
    ASSERT_TRUE(view);
    EXPECT_EQ(view->receiver_index, 0xdeadbeefu);
    EXPECT_EQ(view->counter, 77u);
    std::vector<uint8_t> out(n);
    auto len = decrypt_transport(key, *view, out);
    ASSERT_TRUE(len);
    EXPECT_EQ(*len, n);
    EXPECT_EQ(out, pt);
  }
}

TEST(Transport, KeepaliveIs32Bytes) {
  auto key = random_key();
  std::array<uint8_t, 32> msg{};
  ASSERT_EQ(encrypt_transport(key, 1, 0, {}, msg), wire::kKeepaliveSize);
  auto view = wire::parse_transport(msg);
  ASSERT_TRUE(view);
  std::array<uint8_t, 0> out{};
  EXPECT_EQ(decrypt_transport(key, *view, out), 0u);
}

TEST(Transport, InPlace) {
  auto key = random_key();
  auto pt = random_payload(64);
  std::vector<uint8_t> buf(16 + 64 + 16);
  std::copy(pt.begin(), pt.end(), buf.begin() + 16);
  ASSERT_EQ(encrypt_transport(key, 5, 9, Bytes(buf.data() + 16, 64), buf), 96u);
  std::vector<uint8_t> reference(96);
  ASSERT_EQ(encrypt_transport(key, 5, 9, pt, reference), 96u);
  EXPECT_EQ(buf, reference);

  auto view = wire::parse_transport(buf);
  ASSERT_TRUE(view);
  MutableBytes out(buf.data() + 16, 64);
  ASSERT_EQ(decrypt_transport(key, *view, out), 64u);
  EXPECT_TRUE(std::equal(pt.begin(), pt.end(), buf.begin() + 16));
}

TEST(Transport, TamperOrWrongKeyFails) {
  auto key = random_key();
  auto pt = random_payload(32);
  std::vector<uint8_t> msg(64);
  ASSERT_EQ(encrypt_transport(key, 5, 9, pt, msg), 64u);
  std::vector<uint8_t> out(32);
  for (size_t i : {8, 15, 16, 40, 63}) {  // counter bytes are the nonce: also covered
    auto bad = msg;
    bad[i] ^= 1;
    EXPECT_FALSE(decrypt_transport(key, *wire::parse_transport(bad), out)) << i;
  }
  EXPECT_FALSE(decrypt_transport(random_key(), *wire::parse_transport(msg), out));
  std::vector<uint8_t> small(31);
  EXPECT_FALSE(decrypt_transport(key, *wire::parse_transport(msg), small));
}

TEST(Transport, OutputTooSmall) {
  auto key = random_key();
  auto pt = random_payload(32);
  std::vector<uint8_t> msg(63);
  EXPECT_EQ(encrypt_transport(key, 5, 9, pt, msg), 0u);
  EXPECT_EQ(encrypt_transport(key, 5, 9, {}, MutableBytes(msg.data(), 15)), 0u);
}

TEST(Transport, PaddedLength) {
  EXPECT_EQ(padded_length(0, 1420), 0u);
  EXPECT_EQ(padded_length(1, 1420), 16u);
  EXPECT_EQ(padded_length(16, 1420), 16u);
  EXPECT_EQ(padded_length(17, 1420), 32u);
  EXPECT_EQ(padded_length(1419, 1420), 1420u);  // capped at the MTU, not 1424
  EXPECT_EQ(padded_length(1420, 1420), 1420u);
  EXPECT_EQ(padded_length(1500, 1420), 1500u);
}

}  // namespace
}  // namespace tern::noise

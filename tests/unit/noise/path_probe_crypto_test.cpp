#include "noise/path_probe_crypto.hpp"

#include <gtest/gtest.h>

#include <vector>

#include "crypto/x25519.hpp"

namespace tern::noise {
namespace {

using wire::kPathProbeMinSize;
using wire::ProbeType;

struct Pair {
  LocalIdentity a = LocalIdentity::from_private(crypto::generate_private_key());
  LocalIdentity b = LocalIdentity::from_private(crypto::generate_private_key());
  PathProbeKeys a_to_b = *derive_path_probe_keys(a, b.public_key);
  PathProbeKeys b_from_a = *derive_path_probe_keys(b, a.public_key);
};

wire::PathProbeBody sample_body() {
  wire::PathProbeBody body;
  for (size_t i = 0; i < body.tx_id.size(); ++i)
    body.tx_id[i] = static_cast<uint8_t>(0x30 + i);
  body.overlay_mtu = 1420;
  return body;
}

std::vector<uint8_t> seal(const PathProbeKeys& k, ProbeType type, const wire::PathProbeBody& body,
                          size_t size) {
  std::vector<uint8_t> out(size);
  EXPECT_EQ(seal_path_probe(k, type, body, size, out), size);
  return out;
}

std::optional<OpenedPathProbe> open(const PathProbeKeys& k, Bytes datagram) {
  std::vector<uint8_t> scratch(datagram.size());
  return open_path_probe(k, datagram, scratch);
}

TEST(PathProbeCrypto, BothSidesDeriveTheSameKeyAndMirroredHints) {
  Pair p;
  EXPECT_EQ(p.a_to_b.key, p.b_from_a.key);
  EXPECT_EQ(p.a_to_b.send_hint, p.b_from_a.receive_hint);
  EXPECT_EQ(p.a_to_b.receive_hint, p.b_from_a.send_hint);
  EXPECT_NE(p.a_to_b.send_hint, p.a_to_b.receive_hint);
  EXPECT_EQ(p.a_to_b.send_hint, path_probe_hint(p.a.public_key, p.b.public_key));
  // Another pair shares nothing.
  LocalIdentity c = LocalIdentity::from_private(crypto::generate_private_key());
  auto a_to_c = *derive_path_probe_keys(p.a, c.public_key);
  EXPECT_NE(a_to_c.key, p.a_to_b.key);
  EXPECT_NE(a_to_c.send_hint, p.a_to_b.send_hint);
}

TEST(PathProbeCrypto, PresharedKeyIsMixedIn) {
  Pair p;
  crypto::Key psk{};
  psk[0] = 1;
  auto a_psk = *derive_path_probe_keys(p.a, p.b.public_key, psk);
  auto b_psk = *derive_path_probe_keys(p.b, p.a.public_key, psk);
  EXPECT_EQ(a_psk.key, b_psk.key);
  EXPECT_NE(a_psk.key, p.a_to_b.key);
  auto m = seal(a_psk, ProbeType::kPing, sample_body(), 200);
  EXPECT_TRUE(open(b_psk, m));
  EXPECT_FALSE(open(p.b_from_a, m));  // B without the PSK cannot open it
}

TEST(PathProbeCrypto, LowOrderPeerKeyIsRefused) {
  LocalIdentity a = LocalIdentity::from_private(crypto::generate_private_key());
  crypto::Key zero{};  // the identity point: the DH would be all zeros
  EXPECT_FALSE(derive_path_probe_keys(a, zero).has_value());
}

TEST(PathProbeCrypto, PingAndPongRoundTrip) {
  Pair p;
  wire::PathProbeBody ping = sample_body();
  auto m = seal(p.a_to_b, ProbeType::kPing, ping, 1400);
  auto got = open(p.b_from_a, m);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->type, ProbeType::kPing);
  EXPECT_EQ(got->body, ping);
  EXPECT_EQ(got->size, 1400u);

  wire::PathProbeBody pong = ping;
  pong.overlay_mtu = 1380;
  pong.answered_size = static_cast<uint16_t>(got->size);
  pong.observed = Endpoint::parse("203.0.113.5:51820");
  PathProbeKeys b_to_a = p.b_from_a;  // B answers with its own keys
  auto reply = seal(b_to_a, ProbeType::kPong, pong, kPathProbeMinSize);
  auto back = open(p.a_to_b, reply);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->type, ProbeType::kPong);
  EXPECT_EQ(back->body, pong);
}

TEST(PathProbeCrypto, EverySizeFromMinimumTo9000) {
  Pair p;
  std::vector<uint8_t> out(9000);
  std::vector<uint8_t> scratch(9000);
  wire::PathProbeBody body = sample_body();
  for (size_t size = kPathProbeMinSize; size <= 9000; ++size) {
    ASSERT_EQ(seal_path_probe(p.a_to_b, ProbeType::kPing, body, size, out), size);
    auto got = open_path_probe(p.b_from_a, Bytes(out.data(), size), scratch);
    ASSERT_TRUE(got) << size;
    ASSERT_EQ(got->size, size);
    ASSERT_EQ(got->body, body);
  }
}

TEST(PathProbeCrypto, SizesOutsideTheRangeOrTooSmallABufferAreRefused) {
  Pair p;
  std::vector<uint8_t> out(wire::kPathProbeMaxSize + 1);
  EXPECT_EQ(seal_path_probe(p.a_to_b, ProbeType::kPing, sample_body(), kPathProbeMinSize - 1, out),
            0u);
  EXPECT_EQ(
      seal_path_probe(p.a_to_b, ProbeType::kPing, sample_body(), wire::kPathProbeMaxSize + 1, out),
      0u);
  EXPECT_EQ(
      seal_path_probe(p.a_to_b, ProbeType::kPing, sample_body(), wire::kPathProbeMaxSize, out),
      wire::kPathProbeMaxSize);
  std::vector<uint8_t> small(199);
  EXPECT_EQ(seal_path_probe(p.a_to_b, ProbeType::kPing, sample_body(), 200, small), 0u);
  // Opening needs scratch for body and padding.
  auto m = seal(p.a_to_b, ProbeType::kPing, sample_body(), 200);
  std::vector<uint8_t> scratch(200 - 56 - 1);
  EXPECT_FALSE(open_path_probe(p.b_from_a, m, scratch));
  scratch.resize(200 - 56);
  EXPECT_TRUE(open_path_probe(p.b_from_a, m, scratch));
}

TEST(PathProbeCrypto, AnyFlippedBitIsRejectedAndTheDatagramIsLeftAlone) {
  Pair p;
  const auto m = seal(p.a_to_b, ProbeType::kPing, sample_body(), 160);
  for (size_t i = 0; i < m.size(); ++i) {
    for (uint8_t bit : {0x01, 0x80}) {
      auto bad = m;
      bad[i] ^= bit;
      const auto copy = bad;
      EXPECT_FALSE(open(p.b_from_a, bad)) << "byte " << i;
      EXPECT_EQ(bad, copy);
    }
  }
  EXPECT_TRUE(open(p.b_from_a, m));
}

TEST(PathProbeCrypto, TrimmedOrExtendedPaddingIsRejected) {
  Pair p;
  const auto m = seal(p.a_to_b, ProbeType::kPing, sample_body(), 1500);
  // A middlebox that trims or extends the datagram cannot do so unnoticed.
  for (size_t n : {size_t{0}, size_t{4}, size_t{91}, size_t{92}, size_t{1000}, size_t{1499}})
    EXPECT_FALSE(open(p.b_from_a, Bytes(m.data(), n))) << n;
  auto longer = m;
  longer.push_back(0);
  EXPECT_FALSE(open(p.b_from_a, longer));
}

TEST(PathProbeCrypto, WrongKeyWrongReceiverAndReflectionFail) {
  Pair p;
  const auto m = seal(p.a_to_b, ProbeType::kPing, sample_body(), 300);
  // A third peer C, even one that knows A, cannot open a probe meant for B.
  LocalIdentity c = LocalIdentity::from_private(crypto::generate_private_key());
  EXPECT_FALSE(open(*derive_path_probe_keys(c, p.a.public_key), m));
  // Reflected back to A, the hint names the wrong direction.
  EXPECT_FALSE(open(p.a_to_b, m));
  // Right hint, wrong key.
  PathProbeKeys forged = p.b_from_a;
  forged.key[0] ^= 1;
  EXPECT_FALSE(open(forged, m));
}

TEST(PathProbeCrypto, TypeIsAuthenticated) {
  Pair p;
  auto m = seal(p.a_to_b, ProbeType::kPing, sample_body(), 200);
  m[5] = static_cast<uint8_t>(ProbeType::kPong);  // turn the ping into a "pong"
  EXPECT_FALSE(open(p.b_from_a, m));
}

TEST(PathProbeCrypto, PaddingIsZeroAndNoncesDiffer) {
  Pair p;
  const auto m1 = seal(p.a_to_b, ProbeType::kPing, sample_body(), 500);
  const auto m2 = seal(p.a_to_b, ProbeType::kPing, sample_body(), 500);
  EXPECT_NE(m1, m2);  // fresh random nonce each time
  std::vector<uint8_t> plain(500);
  ASSERT_TRUE(open_path_probe(p.b_from_a, m1, plain));
  for (size_t i = wire::kPathProbeBodySize; i < 500 - 56; ++i)
    ASSERT_EQ(plain[i], 0) << i;
}

TEST(PathProbeCrypto, FixedNonceIsDeterministic) {
  Pair p;
  crypto::XNonce nonce{};
  nonce[3] = 9;
  std::vector<uint8_t> m1(300), m2(300);
  ASSERT_EQ(seal_path_probe(p.a_to_b, ProbeType::kPong, sample_body(), 300, nonce, m1), 300u);
  ASSERT_EQ(seal_path_probe(p.a_to_b, ProbeType::kPong, sample_body(), 300, nonce, m2), 300u);
  EXPECT_EQ(m1, m2);
  auto view = wire::parse_path_probe(m1);
  ASSERT_TRUE(view);
  EXPECT_EQ(view->header.nonce, nonce);
  EXPECT_EQ(view->header.sender_hint, p.a_to_b.send_hint);
}

}  // namespace
}  // namespace tern::noise

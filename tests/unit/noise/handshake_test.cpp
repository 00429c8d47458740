#include "noise/handshake.hpp"

#include <gtest/gtest.h>

#include <array>

#include "crypto/random.hpp"
#include "crypto/x25519.hpp"
#include "wire/tai64n.hpp"

namespace tern::noise {
namespace {

using crypto::Key;
using InitBuf = std::array<uint8_t, wire::kInitiationSize>;
using RespBuf = std::array<uint8_t, wire::kResponseSize>;

Key random_key() {
  Key k;
  crypto::random_bytes(k);
  return k;
}

wire::Tai64n at_seconds(int64_t s) {
  return wire::tai64n_from_wall(WallTime{s * 1'000'000'000});
}

struct Pair {
  explicit Pair(const Key& psk_i = {}, const Key& psk_r = {})
      : a(LocalIdentity::from_private(crypto::generate_private_key())),
        b(LocalIdentity::from_private(crypto::generate_private_key())),
        initiator(a, b.public_key, psk_i),
        responder(b, a.public_key, psk_r) {}

  LocalIdentity a, b;
  Handshake initiator;  // a's view of b
  Handshake responder;  // b's view of a
};

// Runs initiation -> response; returns both sides' keys (either may be empty).
struct Outcome {
  std::optional<SessionKeys> initiator, responder;
};

Outcome run(Pair& p, int64_t seconds = 100) {
  Outcome out;
  InitBuf init{};
  if (!p.initiator.create_initiation(11, at_seconds(seconds), init)) return out;
  auto opened = open_initiation(p.b, init);
  if (!opened) return out;
  auto consumed = p.responder.consume_initiation(*opened);
  if (!consumed || !p.responder.accept_timestamp(consumed->timestamp)) return out;
  RespBuf resp{};
  out.responder = p.responder.create_response(*consumed, 22, resp);
  if (!out.responder) return out;
  out.initiator = p.initiator.consume_response(*wire::parse_response(resp));
  return out;
}

void expect_matching(const Outcome& o) {
  ASSERT_TRUE(o.initiator && o.responder);
  EXPECT_EQ(o.initiator->send_key, o.responder->recv_key);
  EXPECT_EQ(o.initiator->recv_key, o.responder->send_key);
  EXPECT_NE(o.initiator->send_key, o.initiator->recv_key);
  EXPECT_TRUE(o.initiator->is_initiator);
  EXPECT_FALSE(o.responder->is_initiator);
  EXPECT_EQ(o.initiator->local_index, 11u);
  EXPECT_EQ(o.initiator->remote_index, 22u);
  EXPECT_EQ(o.responder->local_index, 22u);
  EXPECT_EQ(o.responder->remote_index, 11u);
}

TEST(Handshake, KeysMatchWithoutPsk) {
  Pair p;
  expect_matching(run(p));
}

TEST(Handshake, KeysMatchWithPsk) {
  Key psk = random_key();
  Pair p(psk, psk);
  expect_matching(run(p));
}

TEST(Handshake, EachHandshakeGivesFreshKeys) {
  Pair p;
  auto first = run(p, 100);
  auto second = run(p, 101);
  ASSERT_TRUE(first.initiator && second.initiator);
  EXPECT_NE(first.initiator->send_key, second.initiator->send_key);
}

TEST(Handshake, WrongPskFailsAtTheInitiator) {
  Pair p(random_key(), random_key());
  auto o = run(p);
  // The psk enters only in the response: the responder cannot tell, the initiator can.
  EXPECT_TRUE(o.responder);
  EXPECT_FALSE(o.initiator);
  Pair q(random_key(), Key{});
  EXPECT_FALSE(run(q).initiator);
}

TEST(Handshake, ReplayedInitiationIsRejectedByTimestamp) {
  Pair p;
  InitBuf init{};
  ASSERT_TRUE(p.initiator.create_initiation(1, at_seconds(50), init));
  auto consumed = p.responder.consume_initiation(*open_initiation(p.b, init));
  ASSERT_TRUE(consumed);
  EXPECT_TRUE(p.responder.accept_timestamp(consumed->timestamp));
  // The same message again decrypts fine, but its timestamp is not newer.
  auto again = p.responder.consume_initiation(*open_initiation(p.b, init));
  ASSERT_TRUE(again);
  EXPECT_FALSE(p.responder.accept_timestamp(again->timestamp));
  // An older one is rejected too; a newer one is accepted.
  EXPECT_FALSE(p.responder.accept_timestamp(at_seconds(49)));
  EXPECT_TRUE(p.responder.accept_timestamp(at_seconds(51)));
  EXPECT_EQ(p.responder.latest_timestamp(), at_seconds(51));
}

TEST(Handshake, TamperedInitiationFails) {
  Pair p;
  InitBuf init{};
  ASSERT_TRUE(p.initiator.create_initiation(1, at_seconds(50), init));
  // Every byte up to mac1 is covered by the handshake (index: only by mac1, see below).
  for (size_t i = 8; i < wire::kInitiationMac1Offset; ++i) {
    InitBuf bad = init;
    bad[i] ^= 0x01;
    auto opened = open_initiation(p.b, bad);
    if (!opened) continue;
    EXPECT_FALSE(p.responder.consume_initiation(*opened)) << "byte " << i;
  }
  InitBuf bad_type = init;
  bad_type[0] = 2;
  EXPECT_FALSE(open_initiation(p.b, bad_type));
  EXPECT_FALSE(open_initiation(p.b, Bytes(init.data(), 147)));
}

TEST(Handshake, InitiationForSomeoneElseFails) {
  Pair p;
  InitBuf init{};
  ASSERT_TRUE(p.initiator.create_initiation(1, at_seconds(50), init));
  auto stranger = LocalIdentity::from_private(crypto::generate_private_key());
  EXPECT_FALSE(open_initiation(stranger, init));
}

TEST(Handshake, ConsumeInitiationChecksThePeer) {
  Pair p;
  InitBuf init{};
  ASSERT_TRUE(p.initiator.create_initiation(1, at_seconds(50), init));
  auto opened = open_initiation(p.b, init);
  ASSERT_TRUE(opened);
  Handshake other_peer(p.b, crypto::public_key_from_private(crypto::generate_private_key()));
  EXPECT_FALSE(other_peer.consume_initiation(*opened));
  auto consumed = p.responder.consume_initiation(*opened);
  ASSERT_TRUE(consumed);
  RespBuf resp{};
  EXPECT_FALSE(other_peer.create_response(*consumed, 5, resp));
}

TEST(Handshake, TamperedResponseFailsAndKeepsThePendingInitiation) {
  Pair p;
  InitBuf init{};
  ASSERT_TRUE(p.initiator.create_initiation(7, at_seconds(50), init));
  auto consumed = p.responder.consume_initiation(*open_initiation(p.b, init));
  ASSERT_TRUE(consumed);
  RespBuf resp{};
  auto rkeys = p.responder.create_response(*consumed, 8, resp);
  ASSERT_TRUE(rkeys);
  for (size_t i = 12; i < wire::kResponseMac1Offset; ++i) {
    RespBuf bad = resp;
    bad[i] ^= 0x04;
    EXPECT_FALSE(p.initiator.consume_response(*wire::parse_response(bad))) << "byte " << i;
  }
  EXPECT_TRUE(p.initiator.has_pending_initiation());
  auto wrong_index = *wire::parse_response(resp);
  wrong_index.receiver_index = 8;
  EXPECT_FALSE(p.initiator.consume_response(wrong_index));
  // The genuine response still completes the handshake, exactly once.
  auto ikeys = p.initiator.consume_response(*wire::parse_response(resp));
  ASSERT_TRUE(ikeys);
  EXPECT_EQ(ikeys->send_key, rkeys->recv_key);
  EXPECT_FALSE(p.initiator.has_pending_initiation());
  EXPECT_FALSE(p.initiator.consume_response(*wire::parse_response(resp)));
}

TEST(Handshake, ResponseWithoutInitiationIsRejected) {
  Pair p;
  wire::Response r;
  EXPECT_FALSE(p.initiator.consume_response(r));
}

TEST(Handshake, ANewInitiationSupersedesTheOldOne) {
  Pair p;
  InitBuf first{}, second{};
  ASSERT_TRUE(p.initiator.create_initiation(1, at_seconds(50), first));
  ASSERT_TRUE(p.initiator.create_initiation(2, at_seconds(51), second));
  EXPECT_EQ(p.initiator.pending_local_index(), 2u);
  auto consumed = p.responder.consume_initiation(*open_initiation(p.b, first));
  ASSERT_TRUE(consumed);
  RespBuf resp{};
  ASSERT_TRUE(p.responder.create_response(*consumed, 9, resp));
  EXPECT_FALSE(p.initiator.consume_response(*wire::parse_response(resp)));
}

TEST(Handshake, RespondingAbandonsOurOwnInitiation) {
  Pair p;
  InitBuf ours{};
  ASSERT_TRUE(p.responder.create_initiation(3, at_seconds(50), ours));
  EXPECT_TRUE(p.responder.has_pending_initiation());
  InitBuf theirs{};
  ASSERT_TRUE(p.initiator.create_initiation(4, at_seconds(50), theirs));
  auto consumed = p.responder.consume_initiation(*open_initiation(p.b, theirs));
  ASSERT_TRUE(consumed);
  RespBuf resp{};
  ASSERT_TRUE(p.responder.create_response(*consumed, 5, resp));
  EXPECT_FALSE(p.responder.has_pending_initiation());
}

TEST(Handshake, ClearForgetsThePendingInitiation) {
  Pair p;
  InitBuf init{};
  ASSERT_TRUE(p.initiator.create_initiation(1, at_seconds(50), init));
  p.initiator.clear();
  auto consumed = p.responder.consume_initiation(*open_initiation(p.b, init));
  RespBuf resp{};
  ASSERT_TRUE(p.responder.create_response(*consumed, 2, resp));
  EXPECT_FALSE(p.initiator.consume_response(*wire::parse_response(resp)));
}

TEST(Handshake, LowOrderRemoteStaticCannotHandshake) {
  auto me = LocalIdentity::from_private(crypto::generate_private_key());
  Handshake h(me, Key{});
  EXPECT_FALSE(h.has_valid_static());
  InitBuf init{};
  EXPECT_FALSE(h.create_initiation(1, at_seconds(1), init));
}

TEST(Handshake, LowOrderEphemeralIsRejected) {
  Pair p;
  InitBuf init{};
  ASSERT_TRUE(p.initiator.create_initiation(1, at_seconds(50), init));
  std::fill(init.begin() + 8, init.begin() + 40, uint8_t{0});
  EXPECT_FALSE(open_initiation(p.b, init));
}

TEST(Handshake, OutputBufferTooSmall) {
  Pair p;
  std::array<uint8_t, 147> small{};
  EXPECT_FALSE(p.initiator.create_initiation(1, at_seconds(1), small));
}

TEST(Handshake, IdentityChangeInvalidatesOldInitiations) {
  Pair p;
  InitBuf init{};
  ASSERT_TRUE(p.initiator.create_initiation(1, at_seconds(50), init));
  auto new_b = LocalIdentity::from_private(crypto::generate_private_key());
  EXPECT_FALSE(open_initiation(new_b, init));
  // With the new identity on both sides the handshake works again.
  p.b = new_b;
  p.responder.set_local_identity(new_b);
  p.initiator = Handshake(p.a, new_b.public_key);
  expect_matching(run(p, 60));
}

TEST(Handshake, PskChange) {
  Pair p;
  Key psk = random_key();
  p.initiator.set_preshared_key(psk);
  EXPECT_FALSE(run(p, 10).initiator);
  p.responder.set_preshared_key(psk);
  expect_matching(run(p, 11));
}

}  // namespace
}  // namespace tern::noise

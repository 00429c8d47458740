// Hostile input: the client takes whatever arrives on the server's address.
// Genuine server messages, mutated at random (fixed seed), must each be consumed,
// delivered or dropped with a counted reason, never crash or read out of bounds
// (this runs under ASan and UBSan), and never be taken as the server's word
// when the integrity no longer holds.
#include <gtest/gtest.h>

#include <random>

#include "core/turn_client.hpp"
#include "turn_test_harness.hpp"

namespace tern::core {
namespace {

using test::TurnHarness;
using wire::StunMethod;

const Endpoint kPeer = *Endpoint::parse("198.51.100.20:51820");

std::vector<uint8_t> mutate(std::vector<uint8_t> m, std::mt19937& rng) {
  std::uniform_int_distribution<int> kind(0, 3);
  switch (kind(rng)) {
    case 0:  // flip a few bits
      for (int i = 0, n = 1 + static_cast<int>(rng() % 4); i < n && !m.empty(); ++i)
        m[rng() % m.size()] ^= static_cast<uint8_t>(1u << (rng() % 8));
      break;
    case 1:  // truncate
      m.resize(rng() % (m.size() + 1));
      break;
    case 2:  // rewrite a length byte (STUN header or ChannelData header)
      if (m.size() > 3) m[2 + rng() % 2] = static_cast<uint8_t>(rng());
      break;
    default:  // garbage tail
      for (int i = 0, n = static_cast<int>(rng() % 16); i < n; ++i)
        m.push_back(static_cast<uint8_t>(rng()));
      break;
  }
  return m;
}

TEST(TurnClientRobustness, MutatedServerMessagesAreHandledSafely) {
  // Collect genuine messages: the challenge, the answers, relayed data.
  TurnHarness seed(test::default_config(), false);
  std::vector<std::vector<uint8_t>> samples;
  seed.start();
  seed.client->add_peer(kPeer, seed.now);
  seed.pump();
  seed.server.rotate_nonce();
  seed.advance(480s);
  {
    test::FakeTurnServer replay = seed.server;
    for (const auto& m : seed.sent) {
      for (auto& answer : replay.receive(m, seed.now))
        samples.push_back(answer);
    }
  }
  samples.push_back(seed.server.data_from_peer(kPeer, wire::as_bytes("data indication"), false));
  samples.push_back(seed.server.data_from_peer(kPeer, wire::as_bytes("channel data"), true));
  ASSERT_GE(samples.size(), 6u);

  std::mt19937 rng(20260101);
  for (int round = 0; round < 20; ++round) {
    TurnHarness h;
    h.client->add_peer(kPeer, h.now);
    h.pump();
    const auto relayed = h.client->relayed_address();
    size_t dropped = 0;
    for (int i = 0; i < 500; ++i) {
      auto m = mutate(samples[rng() % samples.size()], rng);
      auto r = h.client->handle_input(m, h.now);
      if (r.kind == TurnReceive::Kind::kDropped) ++dropped;
      if (r.kind == TurnReceive::Kind::kData) {
        EXPECT_GE(r.payload.data(), m.data());
        EXPECT_LE(r.payload.data() + r.payload.size(), m.data() + m.size());
      }
    }
    EXPECT_EQ(h.client->drops().total(), dropped);
    // Mutated answers to old transactions match nothing: the allocation is as it was.
    EXPECT_TRUE(h.client->is_allocated()) << h.failure_text();
    EXPECT_EQ(h.client->relayed_address(), relayed);
    h.advance(1h);
    EXPECT_TRUE(h.client->is_allocated()) << h.failure_text();
  }
}

TEST(TurnClientRobustness, AnswersWithTheRightIdButBrokenIntegrityNeverCount) {
  // Flip each byte of a genuine Refresh success in turn: only the untouched
  // answer may extend the allocation.
  TurnHarness h;
  h.link_down = true;
  h.advance(480s);
  test::FakeTurnServer server = h.server;
  auto answers = server.receive(h.sent.back(), h.now);
  ASSERT_EQ(answers.size(), 1u);
  const auto genuine = answers[0];
  const size_t fingerprint = wire::StunMessage::parse(genuine)->fingerprint_offset().value();
  for (size_t i = 0; i < genuine.size(); ++i) {
    // A changed FINGERPRINT type makes it an unknown attribute after MESSAGE-INTEGRITY,
    // which RFC 8489 §14.5 says to ignore: that message is still genuine.
    if (i == fingerprint || i == fingerprint + 1) continue;
    auto bad = genuine;
    bad[i] ^= 0x01;
    auto r = h.client->handle_input(bad, h.now);
    EXPECT_NE(r.kind, TurnReceive::Kind::kConsumed) << "byte " << i;
  }
  EXPECT_EQ(h.client->allocation_expires(), test::kT0 + 600s);
  EXPECT_EQ(h.client->handle_input(genuine, h.now).kind, TurnReceive::Kind::kConsumed);
  EXPECT_EQ(h.client->allocation_expires(), test::kT0 + 1080s);
}

}  // namespace
}  // namespace tern::core

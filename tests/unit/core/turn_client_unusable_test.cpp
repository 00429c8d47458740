// Answers the TURN client cannot use (unreadable, another method, a bad MESSAGE-INTEGRITY, from
// another address) are discarded and counted per request: a request that then times out is the
// server's fault (kServerFault, saying what it sent), while a silent server is still a timeout
// that points at the firewall. A usable answer after unusable ones is still taken.
#include <gtest/gtest.h>

#include <algorithm>

#include "core/turn_client.hpp"
#include "turn_test_harness.hpp"
#include "wire/stun_builder.hpp"

namespace tern::core {
namespace {

using test::contains;
using test::TurnHarness;
using wire::StunClass;
using wire::StunMethod;

const Endpoint kElsewhere = *Endpoint::parse("192.0.2.99:40000");

wire::TransactionId id_of(const std::vector<uint8_t>& request) {
  wire::TransactionId id{};
  std::copy_n(request.begin() + 8, id.size(), id.begin());
  return id;
}

// A well-formed success answer of `method` to the request.
std::vector<uint8_t> success(const std::vector<uint8_t>& request, StunMethod method) {
  std::vector<uint8_t> out(512);
  wire::StunBuilder b(out, method, StunClass::kSuccess, id_of(request));
  b.add_xor_address(wire::StunAttr::kXorRelayedAddress, *Endpoint::parse("203.0.113.5:50000"));
  b.add_lifetime(600);
  out.resize(b.size());
  return out;
}

// Our transaction ID, but the length field claims far more than follows.
std::vector<uint8_t> truncated(const std::vector<uint8_t>& request) {
  auto out = success(request, StunMethod::kAllocate);
  out[2] = 0x0F;
  out[3] = 0xF0;
  return out;
}

// A harness whose server never answers by itself: the test delivers what it wants.
struct Muted : TurnHarness {
  Muted() : TurnHarness(test::default_config(), false) {
    link_down = true;
    start();
  }
};

TEST(TurnClientUnusable, MalformedAnswersThenTimeoutIsAServerFault) {
  Muted h;
  const auto request = h.sent.at(0);
  for (int i = 0; i < 3; ++i) {
    h.deliver(truncated(request));
    h.advance(1s);
  }
  EXPECT_EQ(h.client->unusable_answers().malformed, 3u);
  EXPECT_EQ(h.client->state_name(), "allocating");  // still waiting for a good one
  h.advance(40s);
  ASSERT_EQ(h.client->state_name(), "failed");
  EXPECT_EQ(h.client->failure()->kind, TurnErrorKind::kServerFault);
  EXPECT_EQ(turn_error_kind_name(h.client->failure()->kind), "server_fault");
  const auto text = h.failure_text();
  EXPECT_TRUE(contains(text, "answered tern's Allocate request 3 time(s) over UDP in 39.5 s"))
      << text;
  EXPECT_TRUE(contains(text, "3 malformed")) << text;
  EXPECT_TRUE(contains(text, "unreadable answer (")) << text;
  EXPECT_TRUE(contains(text, "no firewall blocks it")) << text;
  EXPECT_FALSE(contains(text, "is blocked")) << text;
}

TEST(TurnClientUnusable, AnswersFromAnotherAddressAreNeverTakenAndAreCounted) {
  Muted h;
  const auto answer = success(h.sent.at(0), StunMethod::kAllocate);
  h.client->handle_wrong_source(answer, kElsewhere);
  h.client->handle_wrong_source(answer, kElsewhere);
  h.pump();
  EXPECT_FALSE(h.client->is_allocated());
  EXPECT_EQ(h.client->unusable_answers().wrong_source, 2u);
  h.advance(40s);
  ASSERT_EQ(h.client->state_name(), "failed");
  EXPECT_EQ(h.client->failure()->kind, TurnErrorKind::kServerFault);
  const auto text = h.failure_text();
  EXPECT_TRUE(contains(text, "2 from a wrong address")) << text;
  EXPECT_TRUE(contains(text, "an answer from 192.0.2.99:40000")) << text;
  EXPECT_TRUE(contains(text, "listening-ip")) << text;
}

TEST(TurnClientUnusable, WrongMethodAndMissingErrorCodeAreCounted) {
  Muted h;
  const auto request = h.sent.at(0);
  h.deliver(success(request, StunMethod::kRefresh));  // our ID, another method
  std::vector<uint8_t> error(64);
  wire::StunBuilder b(error, StunMethod::kAllocate, StunClass::kError, id_of(request));
  b.add(wire::StunAttr::kErrorCode, wire::as_bytes("no"));
  error.resize(b.size());
  h.deliver(error);
  const auto& u = h.client->unusable_answers();
  EXPECT_EQ(u.unexpected, 1u);
  EXPECT_EQ(u.malformed, 1u);
  EXPECT_EQ(u.last, "an error answer without a readable ERROR-CODE");
  h.advance(40s);
  ASSERT_EQ(h.client->state_name(), "failed");
  EXPECT_EQ(h.client->failure()->kind, TurnErrorKind::kServerFault);
  EXPECT_TRUE(contains(h.failure_text(), "1 malformed, 1 unexpected")) << h.failure_text();
}

TEST(TurnClientUnusable, StrangersAreNotCountedAndSilenceIsStillATimeout) {
  Muted h;
  // Not ours: another transaction ID, garbage, a message from elsewhere for nobody.
  auto other = h.sent.at(0);
  other[8] ^= 0xFF;
  h.deliver(success(other, StunMethod::kAllocate));
  h.deliver(truncated(other));
  h.deliver(std::vector<uint8_t>(7, 0x42));
  h.client->handle_wrong_source(success(other, StunMethod::kAllocate), kElsewhere);
  EXPECT_EQ(h.client->unusable_answers().total(), 0u);
  h.advance(40s);
  ASSERT_EQ(h.client->state_name(), "failed");
  EXPECT_EQ(h.client->failure()->kind, TurnErrorKind::kTimeout);
  EXPECT_TRUE(contains(h.failure_text(), "is blocked")) << h.failure_text();
}

TEST(TurnClientUnusable, AUsableAnswerAfterUnusableOnesIsTaken) {
  Muted h;
  const auto request = h.sent.at(0);
  h.deliver(truncated(request));
  h.client->handle_wrong_source(success(request, StunMethod::kAllocate), kElsewhere);
  h.advance(2s);
  // The server's genuine answer (the challenge) to the latest retransmission, then a live link.
  h.link_down = false;
  for (auto& answer : h.server.receive(h.sent.back(), h.now))
    h.deliver(answer);
  EXPECT_TRUE(h.client->is_allocated()) << h.failure_text();
  EXPECT_EQ(h.client->unusable_answers().total(), 2u);  // kept over the client's life
}

TEST(TurnClientUnusable, APeerRequestThatMeetsOnlyUnusableAnswersFailsAsServerFault) {
  TurnHarness h;
  ASSERT_TRUE(h.client->is_allocated());
  const auto peer = *Endpoint::parse("198.51.100.20:51820");
  h.link_down = true;
  const size_t before = h.sent.size();
  h.client->add_peer(peer, h.now);
  h.pump();
  ASSERT_GT(h.sent.size(), before);
  for (size_t i = before; i < h.sent.size(); ++i)
    h.deliver(truncated(h.sent[i]));
  h.advance(40s);
  const auto failed = h.events_of<TurnPeerFailed>();
  ASSERT_FALSE(failed.empty());
  EXPECT_EQ(failed[0].error.kind, TurnErrorKind::kServerFault);
  EXPECT_TRUE(h.client->is_allocated());  // the allocation itself is fine
}

}  // namespace
}  // namespace tern::core

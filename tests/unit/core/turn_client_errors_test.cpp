// How the TURN client turns each error the server can answer into an event that
// names the cause and the fix, and how it recovers from 437 Allocation Mismatch.
#include <gtest/gtest.h>

#include "core/turn_client.hpp"
#include "turn_test_harness.hpp"

namespace tern::core {
namespace {

using test::contains;
using test::kT0;
using test::TurnHarness;
using wire::StunMethod;

struct AllocateErrorCase {
  uint16_t code;
  TurnErrorKind kind;
  std::string_view text;
};

TEST(TurnClientErrors, EachAllocateErrorBecomesAFailureEvent) {
  const AllocateErrorCase cases[] = {
      {486, TurnErrorKind::kQuotaReached, "quota is reached"},
      {508, TurnErrorKind::kInsufficientCapacity, "out of capacity"},
      {440, TurnErrorKind::kAddressFamilyNotSupported, "cannot give an IPv4 relayed address"},
      {403, TurnErrorKind::kForbidden, "refused the request"},
      {442, TurnErrorKind::kUnsupportedTransport, "does not relay UDP"},
      {500, TurnErrorKind::kServerError, "failed internally"},
      {400, TurnErrorKind::kBadRequest, "malformed"},
      {599, TurnErrorKind::kOther, "Allocate request with error 599: Mystery"},
  };
  for (const auto& c : cases) {
    TurnHarness h(test::default_config(), false);
    h.server.inject(StunMethod::kAllocate, c.code, c.code == 599 ? "Mystery" : "");
    h.start();
    ASSERT_EQ(h.client->state_name(), "failed") << c.code;
    auto failed = h.events_of<TurnFailed>();
    ASSERT_EQ(failed.size(), 1u);
    EXPECT_EQ(failed[0].error.kind, c.kind) << c.code;
    EXPECT_EQ(failed[0].error.code, c.code);
    EXPECT_TRUE(contains(failed[0].error.message, c.text)) << failed[0].error.message;
  }
}

TEST(TurnClientErrors, TryAlternateNamesTheOtherServer) {
  TurnHarness h(test::default_config(), false);
  h.server.alternate = *Endpoint::parse("192.0.2.99:3478");
  h.server.inject(StunMethod::kAllocate, 300, "Try Alternate");
  h.start();
  ASSERT_EQ(h.client->state_name(), "failed");
  EXPECT_TRUE(contains(h.failure_text(), "192.0.2.99:3478")) << h.failure_text();
}

TEST(TurnClientErrors, AllocationMismatchDeletesTheOldAllocationAndRetries) {
  TurnHarness h(test::default_config(), false);
  // An allocation left on this 5-tuple by an earlier run.
  h.server.allocated = true;
  h.server.allocation_expires = kT0 + 300s;
  h.start();
  ASSERT_TRUE(h.client->is_allocated()) << h.failure_text();
  // Allocate (401), Allocate (437), Refresh LIFETIME 0, Allocate (success).
  ASSERT_EQ(h.server.log.size(), 4u);
  EXPECT_EQ(h.server.log[2].method, StunMethod::kRefresh);
  EXPECT_EQ(h.server.log[2].lifetime, 0u);
  EXPECT_EQ(h.server.log[3].method, StunMethod::kAllocate);
}

TEST(TurnClientErrors, PersistentAllocationMismatchFailsWithTheWayOut) {
  TurnHarness h(test::default_config(), false);
  h.server.inject(StunMethod::kAllocate, 437, "Allocation Mismatch", 2);
  h.start();
  ASSERT_EQ(h.client->state_name(), "failed");
  EXPECT_EQ(h.client->failure()->kind, TurnErrorKind::kAllocationMismatch);
  EXPECT_TRUE(contains(h.failure_text(), "tern deleted it")) << h.failure_text();
  EXPECT_TRUE(contains(h.failure_text(), "another local port")) << h.failure_text();
}

TEST(TurnClientErrors, LostAllocationIsMadeAgain) {
  TurnHarness h;
  h.server.allocated = false;  // the server restarted
  h.server.relayed = *Endpoint::parse("203.0.113.10:50000");
  h.advance(480s);
  auto lost = h.events_of<TurnAllocationLost>();
  ASSERT_EQ(lost.size(), 1u);
  EXPECT_EQ(lost[0].error.kind, TurnErrorKind::kAllocationMismatch);
  EXPECT_TRUE(contains(lost[0].error.message, "allocates again")) << lost[0].error.message;
  EXPECT_TRUE(h.client->is_allocated());
  EXPECT_EQ(h.client->relayed_address(), h.server.relayed);
  EXPECT_EQ(h.events_of<TurnAllocated>().size(), 2u);
}

TEST(TurnClientErrors, CredentialsRevokedWhileAllocated) {
  TurnHarness h;
  h.server.users.clear();  // the user was deleted on the server
  h.advance(480s);
  ASSERT_EQ(h.client->state_name(), "failed");
  EXPECT_EQ(h.client->failure()->kind, TurnErrorKind::kWrongCredentials);
  EXPECT_EQ(h.server.count(StunMethod::kRefresh), 1u);
}

TEST(TurnClientErrors, RefreshErrorEndsTheClient) {
  TurnHarness h;
  h.server.inject(StunMethod::kRefresh, 508, "Insufficient Capacity");
  h.advance(480s);
  ASSERT_EQ(h.client->state_name(), "failed");
  EXPECT_EQ(h.client->failure()->kind, TurnErrorKind::kInsufficientCapacity);
  EXPECT_TRUE(contains(h.failure_text(), "Refresh") || contains(h.failure_text(), "capacity"));
}

TEST(TurnClientErrors, ChallengeWithoutRealmIsABadChallenge) {
  TurnHarness h(test::default_config(), false);
  h.link_down = true;
  h.start();
  const auto request = wire::StunMessage::parse(h.sent.at(0));
  ASSERT_TRUE(request);
  std::vector<uint8_t> buf(wire::kStunMaxUdpMessage);
  wire::StunBuilder b(buf, StunMethod::kAllocate, wire::StunClass::kError,
                      request->transaction_id());
  b.add_error_code(401, "Unauthorized").add_text(wire::StunAttr::kNonce, "n");
  auto r = h.deliver(test::to_vector(*b.finish()));
  EXPECT_EQ(r.kind, TurnReceive::Kind::kConsumed);
  ASSERT_EQ(h.client->state_name(), "failed");
  EXPECT_EQ(h.client->failure()->kind, TurnErrorKind::kBadChallenge);
  EXPECT_TRUE(contains(h.failure_text(),
                       "turn.example.net:3478: the server's challenge has no "
                       "usable REALM and NONCE"))
      << h.failure_text();
}

TEST(TurnClientErrors, ErrorWithoutErrorCodeIsMalformed) {
  TurnHarness h(test::default_config(), false);
  h.link_down = true;
  h.start();
  const auto request = wire::StunMessage::parse(h.sent.at(0));
  std::vector<uint8_t> buf(wire::kStunMaxUdpMessage);
  wire::StunBuilder b(buf, StunMethod::kAllocate, wire::StunClass::kError,
                      request->transaction_id());
  auto r = h.deliver(test::to_vector(*b.finish()));
  EXPECT_EQ(r.reason, DropReason::kMalformed);
  EXPECT_EQ(h.client->state_name(), "allocating");  // still waiting for a real answer
}

}  // namespace
}  // namespace tern::core

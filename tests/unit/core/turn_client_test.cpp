// The TURN client's allocation against a fake server, as timelines: the
// credential challenge, stale nonces, wrong and expired credentials, refreshes,
// retransmissions and timeouts per transport, every error code to its event, and
// answers that fail integrity or answer nothing.
#include "core/turn_client.hpp"

#include <gtest/gtest.h>

#include "turn_test_harness.hpp"

namespace tern::core {
namespace {

using test::contains;
using test::kT0;
using test::TurnHarness;
using wire::StunClass;
using wire::StunMethod;

TEST(TurnClient, AnswersTheChallengeAndAllocates) {
  TurnHarness h;
  // Allocate without credentials -> 401 -> Allocate with them -> success.
  ASSERT_EQ(h.server.log.size(), 2u);
  EXPECT_FALSE(h.server.log[0].authenticated);
  EXPECT_TRUE(h.server.log[1].authenticated);
  EXPECT_EQ(h.server.log[1].method, StunMethod::kAllocate);
  EXPECT_TRUE(h.client->is_allocated());
  EXPECT_EQ(h.client->state_name(), "allocated");
  EXPECT_EQ(h.client->relayed_address(), h.server.relayed);
  EXPECT_EQ(h.client->mapped_address(), h.server.mapped);
  auto allocated = h.events_of<TurnAllocated>();
  ASSERT_EQ(allocated.size(), 1u);
  EXPECT_EQ(allocated[0].relayed, h.server.relayed);
  EXPECT_EQ(allocated[0].lifetime, 600s);
  EXPECT_EQ(h.client->drops().total(), 0u);
}

TEST(TurnClient, RequestsCarryFingerprintAndRequestedTransport) {
  TurnHarness h;
  auto m = wire::StunMessage::parse(h.sent[0]);
  ASSERT_TRUE(m);
  EXPECT_TRUE(m->fingerprint_offset());
  auto transport = m->find(wire::StunAttr::kRequestedTransport);
  ASSERT_TRUE(transport);
  EXPECT_EQ(wire::decode_requested_transport(transport->value), wire::kProtocolUdp);
  EXPECT_FALSE(m->find(wire::StunAttr::kRequestedAddressFamily));
}

TEST(TurnClient, AsksForIpv6AndLifetimeWhenConfigured) {
  auto config = test::default_config();
  config.family = IpAddress::Family::kV6;
  config.lifetime_seconds = 1200;
  TurnHarness h(config);
  auto m = wire::StunMessage::parse(h.sent[1]);
  ASSERT_TRUE(m);
  auto family = m->find(wire::StunAttr::kRequestedAddressFamily);
  ASSERT_TRUE(family);
  EXPECT_EQ(wire::decode_address_family(family->value), IpAddress::Family::kV6);
  EXPECT_EQ(h.server.log[1].lifetime, 1200u);
}

TEST(TurnClient, StaleNonceIsRetriedWithTheNewOne) {
  TurnHarness h(test::default_config(), false);
  h.start();
  ASSERT_TRUE(h.client->is_allocated());
  h.server.rotate_nonce();
  h.advance(480s);  // the refresh meets a stale nonce, then goes through
  const auto refreshes = h.server.count(StunMethod::kRefresh);
  EXPECT_EQ(refreshes, 2u);
  EXPECT_EQ(h.events_of<TurnRefreshed>().size(), 1u);
  EXPECT_TRUE(h.client->is_allocated());
}

TEST(TurnClient, StaleNonceForeverFails) {
  TurnHarness h;
  // A server whose every nonce is stale by the time it is used.
  for (int i = 0; i < 10; ++i) {
    h.server.inject(StunMethod::kRefresh, 438, "Stale Nonce");
  }
  h.advance(480s);
  EXPECT_EQ(h.client->state_name(), "failed");
  EXPECT_EQ(h.client->failure()->kind, TurnErrorKind::kStaleNonceLoop);
  EXPECT_TRUE(contains(h.failure_text(), "438 Stale Nonce 4 times")) << h.failure_text();
  EXPECT_EQ(h.server.count(StunMethod::kRefresh), 4u);
}

TEST(TurnClient, WrongPasswordFailsAfterOneRetry) {
  auto config = test::default_config();
  config.credentials.password = "battery staple";
  TurnHarness h(config);
  EXPECT_EQ(h.server.count(StunMethod::kAllocate), 2u);  // no loop of 401s
  EXPECT_EQ(h.client->state_name(), "failed");
  auto failed = h.events_of<TurnFailed>();
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(failed[0].error.kind, TurnErrorKind::kWrongCredentials);
  EXPECT_TRUE(contains(failed[0].error.message, "refused the username \"alice\""));
  EXPECT_TRUE(contains(failed[0].error.message, "realm \"tern.test\""));
  EXPECT_FALSE(h.client->poll_timeout());  // nothing more happens
}

TEST(TurnClient, RestCredentialsAccepted) {
  auto config = test::default_config();
  config.credentials = rest_credentials("shared-secret", "peer-a", test::kUnixAtT0 + 86400);
  TurnHarness h(config, false);
  h.server.secret = "shared-secret";
  h.start();
  EXPECT_TRUE(h.client->is_allocated()) << h.failure_text();
}

TEST(TurnClient, RestCredentialsWithAWrongSecret) {
  auto config = test::default_config();
  config.credentials = rest_credentials("old-secret", "peer-a", test::kUnixAtT0 + 86400);
  TurnHarness h(config, false);
  h.server.secret = "shared-secret";
  h.start();
  ASSERT_EQ(h.client->state_name(), "failed");
  EXPECT_EQ(h.client->failure()->kind, TurnErrorKind::kWrongCredentials);
  EXPECT_TRUE(contains(h.failure_text(), "shared secret differs")) << h.failure_text();
}

TEST(TurnClient, ExpiredRestCredentialsNameClockSkew) {
  auto config = test::default_config();
  config.credentials = rest_credentials("shared-secret", "peer-a", test::kUnixAtT0 - 30);
  TurnHarness h(config, false);
  h.server.secret = "shared-secret";
  h.start();
  ASSERT_EQ(h.client->state_name(), "failed");
  EXPECT_EQ(h.client->failure()->kind, TurnErrorKind::kCredentialsExpired);
  EXPECT_TRUE(contains(h.failure_text(), "30 s ago by this machine's clock")) << h.failure_text();
  EXPECT_TRUE(contains(h.failure_text(), "clock skew")) << h.failure_text();
}

TEST(TurnClient, ServerClockAheadShowsAsNearExpiry) {
  auto config = test::default_config();
  config.credentials = rest_credentials("shared-secret", "peer-a", test::kUnixAtT0 + 120);
  TurnHarness h(config, false);
  h.server.secret = "shared-secret";
  h.server.unix_at_start = test::kUnixAtT0 + 600;  // the server's clock is 10 minutes ahead
  h.start();
  ASSERT_EQ(h.client->state_name(), "failed");
  EXPECT_EQ(h.client->failure()->kind, TurnErrorKind::kCredentialsExpired);
  EXPECT_TRUE(contains(h.failure_text(), "in 120 s")) << h.failure_text();
  EXPECT_TRUE(contains(h.failure_text(), "ahead of this one")) << h.failure_text();
}

TEST(TurnClient, Rfc8489ServerGetsSha256Integrity) {
  TurnHarness h(test::default_config(), false);
  h.server.set_rfc8489();
  h.start();
  ASSERT_TRUE(h.client->is_allocated()) << h.failure_text();
  EXPECT_TRUE(h.server.log[1].sha256);
}

TEST(TurnClient, RefreshesAtEightyPercentOfTheLifetime) {
  TurnHarness h;
  EXPECT_EQ(h.client->allocation_expires(), kT0 + 600s);
  h.advance(479s);
  EXPECT_EQ(h.server.count(StunMethod::kRefresh), 0u);
  h.advance(1s);
  ASSERT_EQ(h.server.count(StunMethod::kRefresh), 1u);
  EXPECT_EQ(h.server.times_of(StunMethod::kRefresh)[0], kT0 + 480s);
  EXPECT_EQ(h.client->allocation_expires(), kT0 + 1080s);
  h.advance(480s);
  ASSERT_EQ(h.server.count(StunMethod::kRefresh), 2u);
  EXPECT_EQ(h.server.times_of(StunMethod::kRefresh)[1], kT0 + 960s);
  EXPECT_EQ(h.events_of<TurnRefreshed>().size(), 2u);
}

TEST(TurnClient, RefreshMarginFollowsTheGrantedLifetime) {
  EXPECT_EQ(turn_refresh_margin(600s), 120s);
  EXPECT_EQ(turn_refresh_margin(3600s), 720s);
  EXPECT_EQ(turn_refresh_margin(100s), 50s);
  EXPECT_EQ(turn_refresh_margin(200s), 60s);

  TurnHarness h(test::default_config(), false);
  h.server.default_lifetime = 100;
  h.start();
  h.advance(50s);
  EXPECT_EQ(h.server.count(StunMethod::kRefresh), 1u);
}

TEST(TurnClient, CloseSendsLifetimeZero) {
  TurnHarness h;
  h.client->close(h.now);
  h.pump();
  const auto* refresh = h.server.last(StunMethod::kRefresh);
  ASSERT_TRUE(refresh);
  EXPECT_EQ(refresh->lifetime, 0u);
  EXPECT_FALSE(h.server.allocated);
  EXPECT_EQ(h.client->state_name(), "closed");
  auto closed = h.events_of<TurnClosed>();
  ASSERT_EQ(closed.size(), 1u);
  EXPECT_TRUE(closed[0].note.empty());
  EXPECT_FALSE(h.client->poll_timeout());
}

TEST(TurnClient, CloseWithoutAnswerStillCloses) {
  TurnHarness h;
  h.link_down = true;
  h.client->close(h.now);
  h.advance(40s);
  ASSERT_EQ(h.client->state_name(), "closed");
  EXPECT_TRUE(contains(h.events_of<TurnClosed>().at(0).note, "expires there"));
}

TEST(TurnClient, UdpRetransmitsThenTimesOut) {
  TurnHarness h(test::default_config(), false);
  h.server.silent = true;
  h.start();
  h.advance(40s);
  const auto times = h.server.times_of(StunMethod::kAllocate);
  const std::vector<Instant> expected = {kT0,          kT0 + 500ms,   kT0 + 1500ms, kT0 + 3500ms,
                                         kT0 + 7500ms, kT0 + 15500ms, kT0 + 31500ms};
  EXPECT_EQ(times, expected);
  ASSERT_EQ(h.client->state_name(), "failed");
  EXPECT_EQ(h.client->failure()->kind, TurnErrorKind::kTimeout);
  EXPECT_EQ(h.failure_text(),
            "no answer from turn.example.net:3478 over UDP in 39.5 s: the server is down or "
            "UDP/3478 is blocked; try turn:turn.example.net:3478?transport=tcp or "
            "turns:turn.example.net:5349");
  // Retransmissions are byte-identical (same transaction).
  for (size_t i = 1; i < h.sent.size(); ++i)
    EXPECT_EQ(h.sent[i], h.sent[0]);
}

TEST(TurnClient, TimeoutIsReportedAt39500ms) {
  TurnHarness h(test::default_config(), false);
  h.server.silent = true;
  h.start();
  h.advance(39499ms);
  EXPECT_EQ(h.client->state_name(), "allocating");
  h.advance(1ms);
  EXPECT_EQ(h.client->state_name(), "failed");
}

TEST(TurnClient, TcpSendsOnceAndTimesOut) {
  auto config = test::default_config();
  config.transport = StunTransport::kTcp;
  TurnHarness h(config, false);
  h.server.silent = true;
  h.start();
  EXPECT_EQ(h.client->poll_timeout(), kT0 + 39500ms);
  h.advance(40s);
  EXPECT_EQ(h.server.count(StunMethod::kAllocate), 1u);
  ASSERT_EQ(h.client->state_name(), "failed");
  EXPECT_TRUE(contains(h.failure_text(), "over TCP in 39.5 s")) << h.failure_text();
}

TEST(TurnClient, LostAnswerIsRecoveredByRetransmission) {
  TurnHarness h(test::default_config(), false);
  h.link_down = true;
  h.start();
  h.advance(600ms);  // the first send and one retransmission are lost
  h.link_down = false;
  h.advance(1s);  // the 1.5 s retransmission gets through
  EXPECT_TRUE(h.client->is_allocated()) << h.failure_text();
}

TEST(TurnClient, RefreshTimeoutsRetryUntilTheAllocationExpires) {
  TurnHarness h;
  h.server.silent = true;
  h.advance(480s);  // the refresh starts
  EXPECT_TRUE(h.client->is_allocated());
  h.advance(79s);  // two refresh transactions time out; still alive until 600 s
  EXPECT_TRUE(h.client->is_allocated());
  EXPECT_EQ(h.client->state_name(), "allocated");
  h.advance(41s);
  ASSERT_EQ(h.client->state_name(), "failed");
  EXPECT_EQ(h.client->failure()->kind, TurnErrorKind::kTimeout);
  EXPECT_EQ(h.now, kT0 + 600s);
}

TEST(TurnClient, ResponseWithWrongIntegrityIsDroppedAndCounted) {
  TurnHarness h(test::default_config(), false);
  h.server.corrupt_integrity = true;
  h.start();
  EXPECT_EQ(h.client->state_name(), "allocating");
  EXPECT_EQ(h.client->drops().get(DropReason::kIntegrityFailed), 1u);
  // The genuine answer to a retransmission is still taken.
  h.server.corrupt_integrity = false;
  h.server.allocated = false;
  h.advance(500ms);
  EXPECT_TRUE(h.client->is_allocated());
}

TEST(TurnClient, SuccessWithoutIntegrityIsDropped) {
  TurnHarness h;
  // A forged Refresh success for the outstanding transaction, with no MESSAGE-INTEGRITY.
  h.link_down = true;
  h.advance(480s);
  const auto request = wire::StunMessage::parse(h.sent.back());
  ASSERT_TRUE(request);
  std::vector<uint8_t> buf(wire::kStunMaxUdpMessage);
  wire::StunBuilder b(buf, StunMethod::kRefresh, StunClass::kSuccess, request->transaction_id());
  b.add_lifetime(3600);
  auto forged = test::to_vector(*b.finish());
  auto r = h.deliver(forged);
  EXPECT_EQ(r.kind, TurnReceive::Kind::kDropped);
  EXPECT_EQ(r.reason, DropReason::kIntegrityFailed);
  EXPECT_EQ(h.client->drops().get(DropReason::kIntegrityFailed), 1u);
  EXPECT_EQ(h.client->allocation_expires(), kT0 + 600s);
}

TEST(TurnClient, AnswerToNothingIsDroppedAndCounted) {
  TurnHarness h;
  std::vector<uint8_t> buf(wire::kStunMaxUdpMessage);
  wire::StunBuilder b(buf, StunMethod::kAllocate, StunClass::kSuccess, wire::TransactionId{7});
  b.add_xor_address(wire::StunAttr::kXorRelayedAddress, *Endpoint::parse("192.0.2.66:1"));
  auto r = h.deliver(test::to_vector(*b.finish()));
  EXPECT_EQ(r.reason, DropReason::kUnexpectedMessage);
  EXPECT_EQ(h.client->drops().get(DropReason::kUnexpectedMessage), 1u);
  EXPECT_EQ(h.client->relayed_address(), h.server.relayed);

  const uint8_t garbage[] = {0x00, 0x01, 0x00, 0x04, 1, 2, 3, 4};
  EXPECT_EQ(h.client->handle_input(garbage, h.now).reason, DropReason::kMalformed);
  EXPECT_EQ(h.client->drops().get(DropReason::kMalformed), 1u);
}

TEST(TurnClient, CloseBeforeTheChallengeNeedsNoMessage) {
  TurnHarness h(test::default_config(), false);
  h.link_down = true;
  h.start();
  h.client->close(h.now);
  h.pump();
  EXPECT_EQ(h.client->state_name(), "closed");
  EXPECT_EQ(h.events_of<TurnClosed>().size(), 1u);
}

}  // namespace
}  // namespace tern::core

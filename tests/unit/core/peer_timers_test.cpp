#include "core/peer_timers.hpp"

#include <gtest/gtest.h>

#include "core/wireguard_constants.hpp"

namespace tern::core {
namespace {

constexpr Instant kT0 = instant_from_ns(1'000'000'000'000);

TEST(PeerTimers, NothingDueInitially) {
  PeerTimers t;
  EXPECT_FALSE(t.next_deadline());
  EXPECT_FALSE(t.poll_expired(kT0 + std::chrono::hours(1)));
}

TEST(PeerTimers, RetransmitsHandshakeAfterRekeyTimeoutPlusJitter) {
  PeerTimers t;
  t.handshake_initiated(kT0, 100ms);
  EXPECT_EQ(t.next_deadline(), kT0 + 5100ms);
  EXPECT_FALSE(t.poll_expired(kT0 + 5099ms));
  EXPECT_EQ(t.poll_expired(kT0 + 5100ms), TimerAction::kRetransmitHandshake);
  EXPECT_FALSE(t.poll_expired(kT0 + 5100ms));
}

TEST(PeerTimers, CompletedHandshakeCancelsRetransmitAndResetsAttempts) {
  PeerTimers t;
  t.handshake_initiated(kT0, 0ms);
  t.count_handshake_attempt();
  t.handshake_complete();
  EXPECT_EQ(t.handshake_attempts(), 0u);
  EXPECT_FALSE(t.poll_expired(kT0 + 10s));
}

TEST(PeerTimers, SendsKeepaliveWhenDataArrivesAndNothingGoesBack) {
  PeerTimers t;
  t.data_received(kT0);
  EXPECT_EQ(t.poll_expired(kT0 + kKeepaliveTimeout), TimerAction::kSendKeepalive);
}

TEST(PeerTimers, AnyAuthenticatedSendCancelsKeepalive) {
  PeerTimers t;
  t.data_received(kT0);
  t.any_authenticated_packet_sent();
  EXPECT_FALSE(t.poll_expired(kT0 + kKeepaliveTimeout));
}

TEST(PeerTimers, KeepaliveRearmsWhenMoreDataArrivedMeanwhile) {
  PeerTimers t;
  t.data_received(kT0);
  t.data_received(kT0 + 3s);
  EXPECT_EQ(t.poll_expired(kT0 + 10s), TimerAction::kSendKeepalive);
  EXPECT_EQ(t.next_deadline(), kT0 + 20s);
  EXPECT_EQ(t.poll_expired(kT0 + 20s), TimerAction::kSendKeepalive);
  EXPECT_FALSE(t.next_deadline());
}

TEST(PeerTimers, NewHandshakeWhenSentDataIsNeverAnswered) {
  PeerTimers t;
  t.data_sent(kT0, 200ms);
  t.data_sent(kT0 + 1s, 0ms);  // does not push the deadline out
  EXPECT_EQ(t.next_deadline(), kT0 + 15200ms);
  EXPECT_EQ(t.poll_expired(kT0 + 15200ms), TimerAction::kNewHandshake);
}

TEST(PeerTimers, AnsweredDataCancelsNewHandshake) {
  PeerTimers t;
  t.data_sent(kT0, 0ms);
  t.any_authenticated_packet_received();
  EXPECT_FALSE(t.poll_expired(kT0 + 1min));
}

TEST(PeerTimers, ZeroesKeysThreeRejectTimesAfterSessionDerived) {
  PeerTimers t;
  t.session_derived(kT0);
  EXPECT_FALSE(t.poll_expired(kT0 + 539s));
  EXPECT_EQ(t.poll_expired(kT0 + 540s), TimerAction::kZeroKeyMaterial);
}

TEST(PeerTimers, PersistentKeepaliveOnlyWhenConfigured) {
  PeerTimers t;
  t.any_authenticated_packet_traversal(kT0);
  EXPECT_FALSE(t.next_deadline());
  t.set_persistent_keepalive(25s);
  t.any_authenticated_packet_traversal(kT0);
  t.any_authenticated_packet_traversal(kT0 + 5s);  // pushed out by each traversal
  EXPECT_FALSE(t.poll_expired(kT0 + 29s));
  EXPECT_EQ(t.poll_expired(kT0 + 30s), TimerAction::kPersistentKeepalive);
}

TEST(PeerTimers, StopAllClearsEverything) {
  PeerTimers t;
  t.set_persistent_keepalive(25s);
  t.handshake_initiated(kT0, 0ms);
  t.data_sent(kT0, 0ms);
  t.session_derived(kT0);
  t.any_authenticated_packet_traversal(kT0);
  t.stop_all();
  EXPECT_FALSE(t.next_deadline());
}

}  // namespace
}  // namespace tern::core

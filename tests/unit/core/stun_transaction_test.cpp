#include "core/stun_transaction.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace tern::core {
namespace {

constexpr Instant kT0 = instant_from_ns(5'000'000'000);

// Drives a transaction to its end, polling exactly at each deadline.
std::vector<Duration> schedule(StunRetransmit& r, Duration* timed_out_at) {
  std::vector<Duration> resends;
  while (auto d = r.deadline()) {
    const auto due = r.poll(*d);
    if (due == StunRetransmit::Due::kRetransmit) resends.push_back(*d - kT0);
    if (due == StunRetransmit::Due::kTimedOut) *timed_out_at = *d - kT0;
  }
  return resends;
}

TEST(StunRetransmit, UdpFollowsRfc8489Schedule) {
  StunRetransmit r(StunTransport::kUdp, kT0);
  Duration timed_out{};
  const auto resends = schedule(r, &timed_out);
  const std::vector<Duration> expected = {500ms, 1500ms, 3500ms, 7500ms, 15500ms, 31500ms};
  EXPECT_EQ(resends, expected);
  EXPECT_EQ(timed_out, 39500ms);
  EXPECT_EQ(r.sends(), 7u);
}

TEST(StunRetransmit, StreamsSendOnceAndWaitTi) {
  for (auto t : {StunTransport::kTcp, StunTransport::kTls}) {
    StunRetransmit r(t, kT0);
    Duration timed_out{};
    EXPECT_TRUE(schedule(r, &timed_out).empty());
    EXPECT_EQ(timed_out, 39500ms);
    EXPECT_EQ(r.sends(), 1u);
  }
}

TEST(StunRetransmit, NothingDueBeforeDeadline) {
  StunRetransmit r(StunTransport::kUdp, kT0);
  EXPECT_EQ(r.poll(kT0 + 499ms), StunRetransmit::Due::kNothing);
  EXPECT_EQ(r.poll(kT0 + 500ms), StunRetransmit::Due::kRetransmit);
  EXPECT_EQ(r.poll(kT0 + 500ms), StunRetransmit::Due::kNothing);
  EXPECT_EQ(r.deadline(), kT0 + 1500ms);
}

TEST(StunRetransmit, LatePollResendsOnceAndKeepsTheEnd) {
  StunRetransmit r(StunTransport::kUdp, kT0);
  EXPECT_EQ(r.poll(kT0 + 10s), StunRetransmit::Due::kRetransmit);
  EXPECT_EQ(r.deadline(), kT0 + 15500ms);
  EXPECT_EQ(r.poll(kT0 + 39s), StunRetransmit::Due::kRetransmit);  // the last send
  EXPECT_EQ(r.deadline(), kT0 + 39500ms);
  EXPECT_EQ(r.sends(), 7u);
  EXPECT_EQ(r.poll(kT0 + 40s), StunRetransmit::Due::kTimedOut);
  EXPECT_FALSE(r.deadline());
}

TEST(StunRetransmit, SleepingPastTheEndTimesOut) {
  StunRetransmit r(StunTransport::kUdp, kT0);
  EXPECT_EQ(r.poll(kT0 + 1min), StunRetransmit::Due::kTimedOut);
  EXPECT_FALSE(r.deadline());
}

TEST(StunRetransmit, GiveUpAfterMatchesTheSchedule) {
  RetransmitPolicy p;
  EXPECT_EQ(p.give_up_after(StunTransport::kUdp), 39500ms);
  EXPECT_EQ(p.give_up_after(StunTransport::kTcp), 39500ms);
  p.rto = 100ms;
  p.rc = 3;
  p.rm = 4;
  EXPECT_EQ(p.give_up_after(StunTransport::kUdp), 700ms);  // sends at 0, 100, 300; +400
  StunRetransmit r(StunTransport::kUdp, kT0, p);
  Duration timed_out{};
  const std::vector<Duration> expected = {100ms, 300ms};
  EXPECT_EQ(schedule(r, &timed_out), expected);
  EXPECT_EQ(timed_out, 700ms);
}

TEST(StunTransport, Names) {
  EXPECT_EQ(stun_transport_name(StunTransport::kUdp), "UDP");
  EXPECT_EQ(stun_transport_name(StunTransport::kTcp), "TCP");
  EXPECT_EQ(stun_transport_name(StunTransport::kTls), "TLS");
  EXPECT_FALSE(is_stream(StunTransport::kUdp));
  EXPECT_TRUE(is_stream(StunTransport::kTls));
}

}  // namespace
}  // namespace tern::core

// The relay stream's stall watch (relay_stream.hpp) on sequences of TCP_INFO snapshots with a
// fake clock, against a slow reference written from the rule's words; and the stall counter and
// clamp in `tern status` and its --json.
#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "agent/relay_stream.hpp"
#include "agent/status.hpp"

#include <nlohmann/json.hpp>

namespace tern::agent {
namespace {

using io::TcpProgress;
using std::chrono::milliseconds;

TcpProgress snap(uint32_t unacked, uint32_t retransmits) {
  return TcpProgress{unacked, retransmits, 1448};
}

TEST(StreamStallWatch, IdleOrMovingStreamsNeverStall) {
  StreamStallWatch w;
  Instant t{};
  for (int i = 0; i < 100; ++i, t += milliseconds(500)) {
    EXPECT_FALSE(w.observe(snap(0, 0), t));   // idle
    EXPECT_FALSE(w.observe(snap(40, 0), t));  // busy, acks coming
    EXPECT_FALSE(w.observe(snap(0, 5), t));   // nothing in flight (a stale count)
  }
}

TEST(StreamStallWatch, ThreeTimeoutsInARowAreAStall) {
  StreamStallWatch w;
  Instant t{};
  EXPECT_FALSE(w.observe(snap(10, 1), t));
  EXPECT_FALSE(w.observe(snap(10, 2), t + milliseconds(400)));
  EXPECT_TRUE(w.observe(snap(10, 3), t + milliseconds(800)));
}

TEST(StreamStallWatch, OneTimeoutUnansweredForTwoSecondsIsAStall) {
  StreamStallWatch w;
  Instant t{};
  EXPECT_FALSE(w.observe(snap(3, 1), t));
  EXPECT_FALSE(w.observe(snap(3, 1), t + milliseconds(1999)));
  EXPECT_TRUE(w.observe(snap(3, 2), t + milliseconds(2000)));
}

TEST(StreamStallWatch, AnAckEndsTheRun) {
  StreamStallWatch w;
  Instant t{};
  EXPECT_FALSE(w.observe(snap(3, 1), t));
  EXPECT_FALSE(w.observe(snap(3, 0), t + milliseconds(1500)));  // the retransmission got through
  EXPECT_FALSE(w.observe(snap(3, 1), t + milliseconds(2500)));  // a new run starts here
  EXPECT_FALSE(w.observe(snap(3, 1), t + milliseconds(4000)));
  EXPECT_TRUE(w.observe(snap(3, 1), t + milliseconds(4500)));
  w.reset();  // a new connection
  EXPECT_FALSE(w.observe(snap(3, 1), t + milliseconds(5000)));
}

// The rule, said slowly: stalled at snapshot i when something is in flight and the timer has
// fired, and either it fired 3 times in a row, or every snapshot since a time >= 2 s ago also
// showed data in flight and a timer fired.
TEST(StreamStallWatch, AgreesWithAReferenceOnRandomSequences) {
  std::mt19937 rng(4);
  for (int round = 0; round < 200; ++round) {
    StreamStallWatch w;
    std::vector<std::pair<Instant, TcpProgress>> seen;
    Instant t{};
    for (int i = 0; i < 60; ++i) {
      t += milliseconds(std::uniform_int_distribution<int>(50, 900)(rng));
      const TcpProgress p =
          snap(rng() % 3 == 0 ? 0 : rng() % 20, std::uniform_int_distribution<uint32_t>(0, 3)(rng));
      seen.emplace_back(t, p);
      bool expect = false;
      if (p.unacked > 0 && p.retransmits > 0) {
        size_t first = seen.size() - 1;
        while (first > 0 && seen[first - 1].second.unacked > 0 &&
               seen[first - 1].second.retransmits > 0)
          --first;
        expect = p.retransmits >= 3 || t - seen[first].first >= std::chrono::seconds(2);
      }
      ASSERT_EQ(w.observe(p, t), expect) << "round " << round << " snapshot " << i;
    }
  }
}

TEST(RelayStreamStall, StallsAndClampShowInStatusJson) {
  InterfaceStatus s;
  s.name = "tern0";
  RelayStatus r;
  r.url = "turn:192.0.2.2:3478?transport=tcp";
  r.state = "allocated";
  r.stream_stalls = 2;
  r.stream_mss = kRelayClampMssV4;
  s.relay = r;
  const auto j = to_json(s);
  EXPECT_EQ(j.at("relay").at("stream_stalls"), 2);
  EXPECT_EQ(j.at("relay").at("stream_mss"), 1220);
  const auto back = status_from_json(j);
  ASSERT_TRUE(back.relay);
  EXPECT_EQ(back.relay->stream_stalls, 2u);
  EXPECT_EQ(back.relay->stream_mss, 1220);
  const std::string out = format_status(s, WallTime{1'700'000'000'000'000'000});
  EXPECT_NE(out.find("relay stall: 2 (connection made again with 1220-byte TCP segments)"),
            std::string::npos)
      << out;
  // No stall, no line.
  s.relay->stream_stalls = 0;
  s.relay->stream_mss = 0;
  EXPECT_EQ(format_status(s, WallTime{1'700'000'000'000'000'000}).find("relay stall"),
            std::string::npos);
}

}  // namespace
}  // namespace tern::agent

#include "control/stream_session.hpp"

#include <gtest/gtest.h>

#include <random>

#include "control/websocket.hpp"

namespace tern::control {
namespace {

constexpr std::array<uint8_t, 4> kMask = {0x11, 0x22, 0x33, 0x44};

Instant at(int64_t ms) {
  return instant_from_ns(ms * 1'000'000);
}

std::string agent_frame(WsOpcode op, std::string_view payload) {
  return encode_ws_frame(op, payload, kMask);
}

std::string endpoints_text(std::string_view ep) {
  return std::string(R"({"type":"endpoints","endpoints":[")") + std::string(ep) + "\"]}";
}

// All the session's output, slice after slice, consumed.
std::string take_all(StreamSession& s) {
  std::string bytes;
  while (!s.output().empty()) {
    bytes.append(s.output());
    s.consume_output(s.output().size());
  }
  return bytes;
}

// What the agent reads: the 101 head once, then frames. Consumes the session's output.
struct Agent {
  bool upgraded = false;
  std::string head;
  std::vector<WsFrame> frames;

  void read(StreamSession& s) {
    const std::string bytes = take_all(s);
    std::string_view rest = bytes;
    if (!upgraded) {
      const size_t end = rest.find("\r\n\r\n");
      ASSERT_NE(end, std::string_view::npos);
      head = std::string(rest.substr(0, end + 4));
      rest.remove_prefix(end + 4);
      upgraded = true;
    }
    while (!rest.empty()) {
      WsFrame f;
      const WsParsed p = parse_ws_frame(rest, false, f);
      ASSERT_EQ(p.result, WsParse::kOk);
      frames.push_back(f);
      rest.remove_prefix(p.consumed);
    }
  }
};

uint16_t close_code(const WsFrame& f) {
  return f.payload.size() < 2 ? 0
                              : static_cast<uint16_t>((static_cast<uint8_t>(f.payload[0]) << 8) |
                                                      static_cast<uint8_t>(f.payload[1]));
}

TEST(StreamSession, UpgradeAnswerThenMessagesAsTextFrames) {
  StreamSession s("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", at(0));
  EXPECT_TRUE(s.send_text(R"({"type":"map"})"));
  Agent a;
  a.read(s);
  EXPECT_EQ(a.head,
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n");
  ASSERT_EQ(a.frames.size(), 1u);
  EXPECT_EQ(a.frames[0].opcode, WsOpcode::kText);
  EXPECT_EQ(a.frames[0].payload, R"({"type":"map"})");
  EXPECT_TRUE(s.output().empty());
}

TEST(StreamSession, PingsEveryIntervalAndDropsASilentAgent) {
  StreamSession s("k", at(0));
  Agent a;
  a.read(s);
  EXPECT_EQ(s.poll_timeout(), at(20'000));
  s.handle_timeout(at(19'999));
  EXPECT_TRUE(s.output().empty());
  s.handle_timeout(at(20'000));
  a.read(s);
  ASSERT_EQ(a.frames.size(), 1u);
  EXPECT_EQ(a.frames[0].opcode, WsOpcode::kPing);

  s.handle_input(agent_frame(WsOpcode::kPong, {}), at(30'000));  // heard: alive until 90 s
  s.handle_timeout(at(40'000));
  s.handle_timeout(at(60'000));
  s.handle_timeout(at(80'000));
  EXPECT_TRUE(s.open());
  EXPECT_EQ(s.poll_timeout(), at(90'000));
  s.handle_timeout(at(90'000));
  EXPECT_TRUE(s.finished());
  EXPECT_EQ(s.end(), StreamEnd::kIdle);
  EXPECT_EQ(s.poll_timeout(), std::nullopt);
}

TEST(StreamSession, AnswersPingsWithTheirPayload) {
  StreamSession s("k", at(0));
  Agent a;
  s.handle_input(agent_frame(WsOpcode::kPing, "abc"), at(5));
  a.read(s);
  ASSERT_EQ(a.frames.size(), 1u);
  EXPECT_EQ(a.frames[0].opcode, WsOpcode::kPong);
  EXPECT_EQ(a.frames[0].payload, "abc");
}

TEST(StreamSession, AgentsCloseIsEchoedAndEndsTheStream) {
  StreamSession s("k", at(0));
  Agent a;
  s.handle_input(agent_frame(WsOpcode::kClose, std::string("\x03\xe9going", 7)), at(5));
  EXPECT_TRUE(s.finished());
  EXPECT_EQ(s.end(), StreamEnd::kAgentClosed);
  EXPECT_FALSE(s.send_text("late"));
  a.read(s);
  ASSERT_EQ(a.frames.size(), 1u);
  EXPECT_EQ(a.frames[0].opcode, WsOpcode::kClose);
  EXPECT_EQ(close_code(a.frames[0]), 1001);
}

TEST(StreamSession, ServerCloseWaitsForTheAgentsAnswerOrTimesOut) {
  StreamSession s("k", at(0));
  Agent a;
  EXPECT_TRUE(s.send_text(R"({"type":"removed"})"));
  s.close(kWsNormal, "removed", StreamEnd::kRemoved, at(10));
  EXPECT_FALSE(s.open());
  EXPECT_FALSE(s.finished());
  EXPECT_FALSE(s.send_text("no data after close"));
  a.read(s);
  ASSERT_EQ(a.frames.size(), 2u);
  EXPECT_EQ(a.frames[1].opcode, WsOpcode::kClose);
  EXPECT_EQ(close_code(a.frames[1]), kWsNormal);
  EXPECT_EQ(a.frames[1].payload.substr(2), "removed");

  s.handle_input(agent_frame(WsOpcode::kText, endpoints_text("192.0.2.1:1")), at(20));
  EXPECT_EQ(s.poll_event(at(20)), std::nullopt);  // ignored while closing
  s.handle_input(agent_frame(WsOpcode::kClose, std::string("\x03\xe8", 2)), at(30));
  EXPECT_TRUE(s.finished());
  EXPECT_EQ(s.end(), StreamEnd::kRemoved);
  EXPECT_TRUE(s.output().empty());  // the close is not answered twice

  StreamSession quiet("k", at(0));
  quiet.close(kWsGoingAway, "", StreamEnd::kShutdown, at(0));
  EXPECT_EQ(quiet.poll_timeout(), at(5'000));
  quiet.handle_timeout(at(4'999));
  EXPECT_FALSE(quiet.finished());
  quiet.handle_timeout(at(5'000));
  EXPECT_TRUE(quiet.finished());
  EXPECT_EQ(quiet.end(), StreamEnd::kShutdown);
}

TEST(StreamSession, EndpointsReportsAreAppliedAtMostOncePerInterval) {
  StreamSession s("k", at(0));
  EXPECT_EQ(s.poll_event(at(0)), std::nullopt);
  s.handle_input(agent_frame(WsOpcode::kText, endpoints_text("192.0.2.1:51820")), at(100));
  auto e = s.poll_event(at(100));
  ASSERT_TRUE(e);
  ASSERT_TRUE(std::holds_alternative<StreamEndpoints>(*e));
  EXPECT_EQ(std::get<StreamEndpoints>(*e).endpoints,
            std::vector<Endpoint>{*Endpoint::parse("192.0.2.1:51820")});
  EXPECT_EQ(s.poll_event(at(100)), std::nullopt);

  // Two more within the second: only the latest is applied, when the slot opens.
  s.handle_input(agent_frame(WsOpcode::kText, endpoints_text("192.0.2.2:1")) +
                     agent_frame(WsOpcode::kText, endpoints_text("192.0.2.3:1")),
                 at(300));
  EXPECT_EQ(s.poll_event(at(300)), std::nullopt);
  EXPECT_EQ(s.poll_timeout(), at(1'100));
  e = s.poll_event(at(1'100));
  ASSERT_TRUE(e);
  EXPECT_EQ(std::get<StreamEndpoints>(*e).endpoints,
            std::vector<Endpoint>{*Endpoint::parse("192.0.2.3:1")});
  EXPECT_EQ(s.poll_timeout(), at(20'000));  // the next ping
}

TEST(StreamSession, BadMessagesAreReportedAndTheStreamStays) {
  StreamSession s("k", at(0));
  s.handle_input(agent_frame(WsOpcode::kText, R"({"type":"gossip"})"), at(1));
  s.handle_input(agent_frame(WsOpcode::kText, R"({"type":"endpoints","endpoints":["x"]})"), at(1));
  s.handle_input(agent_frame(WsOpcode::kText, "\xff\xfe"), at(1));
  int bad = 0;
  while (auto e = s.poll_event(at(1))) {
    EXPECT_TRUE(std::holds_alternative<StreamBadMessage>(*e));
    ++bad;
  }
  EXPECT_EQ(bad, 3);
  EXPECT_EQ(s.bad_messages(), 3u);
  EXPECT_TRUE(s.open());
}

struct Refusal {
  std::string bytes;
  StreamEnd end;
  uint16_t code;
};

TEST(StreamSession, RefusesWhatRfc6455OrTheProtocolForbids) {
  const std::vector<Refusal> cases = {
      {encode_ws_frame(WsOpcode::kText, "unmasked"), StreamEnd::kProtocol, kWsProtocolError},
      {agent_frame(WsOpcode::kBinary, "\x01"), StreamEnd::kProtocol, kWsUnsupported},
      {agent_frame(WsOpcode::kContinuation, "x"), StreamEnd::kProtocol, kWsProtocolError},
      {agent_frame(WsOpcode::kClose, "x"), StreamEnd::kProtocol, kWsProtocolError},
      {agent_frame(WsOpcode::kText, std::string(70'000, 'a')), StreamEnd::kTooLarge, kWsTooBig},
  };
  for (const auto& c : cases) {
    StreamSession s("k", at(0));
    Agent a;
    s.handle_input(c.bytes, at(1));
    EXPECT_TRUE(s.finished());
    EXPECT_EQ(s.end(), c.end);
    a.read(s);
    ASSERT_EQ(a.frames.size(), 1u);
    EXPECT_EQ(close_code(a.frames[0]), c.code);
  }
}

TEST(StreamSession, FragmentsAreJoinedWithinTheBound) {
  StreamSession s("k", at(0));
  const std::string text = endpoints_text("192.0.2.9:9");
  std::string first;
  first.push_back(0x01);  // text, FIN clear
  std::string masked = agent_frame(WsOpcode::kText, text.substr(0, 10));
  masked[0] = first[0];
  s.handle_input(masked + agent_frame(WsOpcode::kPing, "mid") +
                     agent_frame(WsOpcode::kContinuation, text.substr(10)),
                 at(1));
  auto e = s.poll_event(at(1));
  ASSERT_TRUE(e);
  EXPECT_EQ(std::get<StreamEndpoints>(*e).endpoints,
            std::vector<Endpoint>{*Endpoint::parse("192.0.2.9:9")});

  StreamLimits small;
  small.max_message = 100;
  StreamSession big("k", at(0), small);
  std::string part = agent_frame(WsOpcode::kText, std::string(60, 'a'));
  part[0] = 0x01;
  big.handle_input(part, at(1));
  std::string more = agent_frame(WsOpcode::kContinuation, std::string(60, 'a'));
  more[0] = 0x00;  // continuation, FIN clear
  big.handle_input(more, at(1));
  EXPECT_EQ(big.end(), StreamEnd::kTooLarge);
}

TEST(StreamSession, AnAgentThatDoesNotReadIsDropped) {
  StreamLimits limits;
  limits.max_output = 1000;
  StreamSession s("k", at(0), limits);
  const std::string msg(300, 'm');
  EXPECT_TRUE(s.send_text(msg));
  EXPECT_TRUE(s.send_text(msg));
  s.consume_output(200);  // the socket took a little
  EXPECT_TRUE(s.send_text(msg));
  EXPECT_FALSE(s.send_text(msg));
  EXPECT_TRUE(s.finished());
  EXPECT_EQ(s.end(), StreamEnd::kOverflow);
  EXPECT_TRUE(s.output().empty());
}

// A shared message goes out byte for byte as its copy would, read in any cuts, and its buffer
// is referenced, not copied, until the socket took it.
TEST(StreamSession, SharedMessagesAreQueuedByReference) {
  std::mt19937 rng(7);
  const auto big = std::make_shared<const std::string>(std::string(70'000, 'p') + "QRS");
  for (int round = 0; round < 20; ++round) {
    SharedMessage m = {own_text("{\"peers\":["), SharedText{big, 5, 40'000},
                       SharedText{big, 40'100, big->size()}, own_text("]}")};
    StreamSession shared("k", at(0));
    StreamSession copied("k", at(0));
    ASSERT_TRUE(shared.send_text(m));
    ASSERT_TRUE(copied.send_text(joined(m)));
    ASSERT_TRUE(shared.send_text(R"({"type":"delta"})"));
    ASSERT_TRUE(copied.send_text(R"({"type":"delta"})"));
    m.clear();
    EXPECT_EQ(big.use_count(), 3);  // ours and the two slices queued
    EXPECT_EQ(shared.output_size(), copied.output_size());
    std::string got;
    while (!shared.output().empty()) {
      const size_t n = std::min<size_t>(shared.output().size(), 1 + rng() % 30'000);
      got.append(shared.output().substr(0, n));
      shared.consume_output(n);
    }
    EXPECT_EQ(got, take_all(copied));
    EXPECT_EQ(shared.output_size(), 0u);
    EXPECT_EQ(big.use_count(), 1);  // written: the stream let go of it
  }
}

TEST(StreamSession, SharedBytesCountTowardsTheBound) {
  StreamLimits limits;
  limits.max_output = 50'000;
  StreamSession s("k", at(0), limits);
  const auto big = std::make_shared<const std::string>(30'000, 'p');
  EXPECT_TRUE(s.send_text(SharedMessage{whole(big)}));
  EXPECT_FALSE(s.send_text(SharedMessage{whole(big)}));
  EXPECT_EQ(s.end(), StreamEnd::kOverflow);
  EXPECT_TRUE(s.output().empty());
  EXPECT_EQ(big.use_count(), 1);
}

// The same frames cut at random places give the same events and answers as whole.
TEST(StreamSession, InputSplitAnywhereMatchesInputWhole) {
  std::mt19937 rng(7);
  for (int round = 0; round < 200; ++round) {
    std::string wire;
    const int n = 1 + static_cast<int>(rng() % 6);
    for (int i = 0; i < n; ++i) {
      switch (rng() % 3) {
        case 0:
          wire += agent_frame(WsOpcode::kText, endpoints_text("192.0.2." + std::to_string(i) + ":" +
                                                              std::to_string(rng() % 999)));
          break;
        case 1:
          wire += agent_frame(WsOpcode::kPing, std::string(rng() % 125, 'p'));
          break;
        default:
          wire += agent_frame(WsOpcode::kText, std::string(rng() % 300, '{'));
          break;
      }
    }
    auto run = [&](bool split) {
      StreamSession s("k", at(0));
      size_t pos = 0;
      while (pos < wire.size()) {
        const size_t len = split ? 1 + rng() % 40 : wire.size();
        s.handle_input(std::string_view(wire).substr(pos, len), at(1));
        pos += len;
      }
      std::string trace = take_all(s);
      while (auto e = s.poll_event(at(1))) {
        if (auto* ep = std::get_if<StreamEndpoints>(&*e)) {
          trace += "E" + ep->endpoints.at(0).to_string();
        } else {
          trace += "B";
        }
      }
      return trace;
    };
    EXPECT_EQ(run(false), run(true)) << "round " << round;
  }
}

}  // namespace
}  // namespace tern::control

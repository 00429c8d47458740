// The relay's TCP connections over loopback: frames cut from any pieces, answers on the
// connection of the 5-tuple, and every bound (connections, framing, idle time, output queue).
#include "relayd/stream_server.hpp"

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <array>
#include <vector>

#include "io/fd.hpp"

namespace tern::relayd {
namespace {

using namespace std::chrono_literals;

struct Sink final : StreamSink {
  std::vector<std::pair<relay::FiveTuple, std::vector<uint8_t>>> frames;
  std::vector<relay::FiveTuple> closed;
  void on_frame(const relay::FiveTuple& t, Bytes f, Instant) override {
    frames.emplace_back(t, std::vector<uint8_t>(f.begin(), f.end()));
  }
  void on_closed(const relay::FiveTuple& t) override { closed.push_back(t); }
};

std::vector<uint8_t> binding_request(uint8_t tag) {
  std::vector<uint8_t> m = {0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xA4, 0x42};
  for (int i = 0; i < 12; ++i)
    m.push_back(static_cast<uint8_t>(tag + i));
  return m;
}

// ChannelData with `n` bytes of data, padded to 4 as on a stream.
std::vector<uint8_t> channel_data(size_t n, uint8_t fill) {
  std::vector<uint8_t> m = {0x40, 0x01, static_cast<uint8_t>(n >> 8), static_cast<uint8_t>(n)};
  m.insert(m.end(), n, fill);
  while (m.size() % 4)
    m.push_back(0);
  return m;
}

class StreamServerTest : public ::testing::Test {
 protected:
  void start(const StreamLimits& limits) {
    auto p = io::Poller::create();
    ASSERT_TRUE(p);
    poller_.emplace(std::move(*p));
    const Endpoint at{IpAddress::v4(0x7F000001u), 0};
    auto s = StreamServer::listen(std::span(&at, 1), relay::Transport::kTcp, nullptr, *poller_, 100,
                                  limits, "--listen");
    ASSERT_TRUE(s) << s.error().message;
    server_ = std::move(*s);
    at_ = server_->bound()[0];
  }

  io::UniqueFd connect_client() {
    io::UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(at_.port);
    sa.sin_addr.s_addr = htonl(0x7F000001u);
    EXPECT_EQ(::connect(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa), 0);
    return fd;
  }

  // Runs the poller until `done` or about a second has passed.
  template <typename F>
  void pump(F done) {
    std::array<io::Ready, 16> ready;
    for (int i = 0; i < 200 && !done(); ++i) {
      auto n = poller_->wait(5ms, ready);
      ASSERT_TRUE(n);
      for (size_t k = 0; k < *n; ++k)
        server_->ready(ready[k], now_, sink_);
    }
  }
  void pump_for(int rounds) {
    int i = 0;
    pump([&] { return ++i > rounds; });
  }

  static void send_all(int fd, const std::vector<uint8_t>& bytes) {
    ASSERT_EQ(::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL),
              static_cast<ssize_t>(bytes.size()));
  }
  // True when the client end reads EOF or a reset within a second.
  static bool closed_by_server(int fd) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 1000) != 1) return false;
    uint8_t b[4096];
    for (;;) {
      ssize_t n = ::recv(fd, b, sizeof b, MSG_DONTWAIT);
      if (n <= 0) return n == 0 || errno != EAGAIN;
    }
  }

  std::optional<io::Poller> poller_;
  std::unique_ptr<StreamServer> server_;
  Endpoint at_;
  Sink sink_;
  Instant now_ = instant_from_ns(1'000'000'000);
};

TEST_F(StreamServerTest, FramesFromAnyPiecesGoToTheSinkWithTheirFiveTuple) {
  start({});
  auto c = connect_client();
  std::vector<uint8_t> stream = binding_request(1);
  auto cd = channel_data(5, 0xAB);
  stream.insert(stream.end(), cd.begin(), cd.end());
  auto b2 = binding_request(50);
  stream.insert(stream.end(), b2.begin(), b2.end());
  // One byte at a time: the framer must wait for the rest of each frame.
  for (uint8_t byte : stream) {
    send_all(c.get(), {byte});
    pump_for(1);
  }
  pump([&] { return sink_.frames.size() == 3; });
  ASSERT_EQ(sink_.frames.size(), 3u);
  EXPECT_EQ(sink_.frames[0].second, binding_request(1));
  // ChannelData reaches the core without its stream padding.
  EXPECT_EQ(sink_.frames[1].second, std::vector<uint8_t>(cd.begin(), cd.begin() + 9));
  EXPECT_EQ(sink_.frames[2].second, b2);
  const relay::FiveTuple& t = sink_.frames[0].first;
  EXPECT_EQ(t.transport, relay::Transport::kTcp);
  EXPECT_EQ(t.server, at_);
  EXPECT_EQ(t.client.address, IpAddress::v4(0x7F000001u));
  EXPECT_EQ(server_->connection_count(), 1u);

  // An answer for that 5-tuple arrives on that connection.
  const std::vector<uint8_t> answer = channel_data(3, 0x11);
  EXPECT_TRUE(server_->send(t.client, t.server, answer));
  std::vector<uint8_t> got(answer.size());
  ASSERT_EQ(::recv(c.get(), got.data(), got.size(), MSG_WAITALL), static_cast<ssize_t>(got.size()));
  EXPECT_EQ(got, answer);
  // No connection for another 5-tuple.
  EXPECT_FALSE(server_->send(Endpoint{t.client.address, 1}, t.server, answer));

  c.reset();
  pump([&] { return !sink_.closed.empty(); });
  ASSERT_EQ(sink_.closed.size(), 1u);
  EXPECT_EQ(sink_.closed[0], t);
  EXPECT_EQ(server_->connection_count(), 0u);
}

TEST_F(StreamServerTest, AStreamOutOfStepIsClosed) {
  start({});
  auto c = connect_client();
  send_all(c.get(), {0x16, 0x03, 0x01, 0x00, 0x10, 0, 0, 0});  // a TLS ClientHello's start
  pump([&] { return !sink_.closed.empty(); });
  EXPECT_EQ(sink_.closed.size(), 1u);
  EXPECT_EQ(server_->counters().closed_framing, 1u);
  EXPECT_TRUE(closed_by_server(c.get()));
  EXPECT_TRUE(sink_.frames.empty());
}

TEST_F(StreamServerTest, AFrameOverTheLimitClosesTheConnection) {
  StreamLimits limits;
  limits.max_frame = 1000;
  start(limits);
  auto c = connect_client();
  send_all(c.get(), channel_data(996, 1));      // exactly 1000 bytes: fine
  send_all(c.get(), {0x40, 0x01, 0x03, 0xE5});  // 4 + 997 bytes: too large
  pump([&] { return !sink_.closed.empty(); });
  EXPECT_EQ(sink_.frames.size(), 1u);
  EXPECT_EQ(server_->counters().closed_framing, 1u);
}

TEST_F(StreamServerTest, ConnectionsOverTheLimitAreClosedAtOnce) {
  StreamLimits limits;
  limits.max_connections = 2;
  start(limits);
  auto a = connect_client();
  auto b = connect_client();
  pump([&] { return server_->connection_count() == 2; });
  auto c = connect_client();
  pump([&] { return server_->counters().refused == 1; });
  EXPECT_EQ(server_->counters().refused, 1u);
  EXPECT_TRUE(closed_by_server(c.get()));
  EXPECT_EQ(server_->connection_count(), 2u);
  // A slot that frees up takes the next one.
  a.reset();
  pump([&] { return server_->connection_count() == 1; });
  auto d = connect_client();
  pump([&] { return server_->connection_count() == 2; });
  EXPECT_EQ(server_->counters().accepted, 3u);
}

TEST_F(StreamServerTest, IdleConnectionsAreClosed) {
  StreamLimits limits;
  limits.first_frame = 30s;
  limits.idle = 600s;
  start(limits);
  auto silent = connect_client();
  auto talker = connect_client();
  pump([&] { return server_->connection_count() == 2; });
  send_all(talker.get(), binding_request(7));
  pump([&] { return sink_.frames.size() == 1; });
  ASSERT_TRUE(server_->next_deadline());

  server_->expire(now_ + 29s, sink_);
  EXPECT_EQ(server_->connection_count(), 2u);
  server_->expire(now_ + 31s, sink_);  // no first frame within 30 s
  EXPECT_EQ(server_->connection_count(), 1u);
  EXPECT_TRUE(closed_by_server(silent.get()));
  server_->expire(now_ + 599s, sink_);
  EXPECT_EQ(server_->connection_count(), 1u);
  server_->expire(now_ + 601s, sink_);  // nothing for 600 s after its last frame
  EXPECT_EQ(server_->connection_count(), 0u);
  EXPECT_EQ(server_->counters().closed_idle, 2u);
  EXPECT_EQ(sink_.closed.size(), 2u);
  EXPECT_FALSE(server_->next_deadline());
}

TEST_F(StreamServerTest, AClientThatDoesNotReadGetsWholeFramesAndBoundedMemory) {
  StreamLimits limits;
  limits.max_queued = 64 * 1024;
  start(limits);
  auto c = connect_client();
  send_all(c.get(), binding_request(1));
  pump([&] { return sink_.frames.size() == 1; });
  const relay::FiveTuple t = sink_.frames[0].first;

  // 40 MB of frames of varying sizes while the client reads nothing: the kernel's buffers
  // and then the queue fill, the queue never holds more than its limit, the rest is dropped.
  size_t accepted = 0;
  for (int i = 0; i < 20000; ++i) {
    const size_t n = 100 + static_cast<size_t>(i % 7) * 333;
    if (server_->send(t.client, t.server, channel_data(n, static_cast<uint8_t>(i)))) ++accepted;
    ASSERT_LE(server_->queued(t.client, t.server), limits.max_queued + n);
  }
  EXPECT_GT(server_->counters().dropped_frames, 10000u);
  EXPECT_GT(accepted, 10u);

  // Everything that was accepted arrives, frame after frame, in step.
  std::vector<uint8_t> got;
  std::vector<uint8_t> b(1 << 20);
  for (int i = 0, quiet = 0; i < 20000 && quiet < 50; ++i) {
    pump_for(1);
    ssize_t n = ::recv(c.get(), b.data(), b.size(), MSG_DONTWAIT);
    if (n > 0) got.insert(got.end(), b.begin(), b.begin() + n);
    quiet = n > 0 ? 0 : quiet + 1;
  }
  EXPECT_EQ(server_->queued(t.client, t.server), 0u);
  size_t frames = 0, at = 0;
  while (at + 4 <= got.size()) {
    ASSERT_EQ(got[at], 0x40) << "frame " << frames << " out of step";
    const size_t len = static_cast<size_t>(got[at + 2] << 8 | got[at + 3]);
    ASSERT_EQ((len - 100) % 333, 0u);
    at += (4 + len + 3) / 4 * 4;
    ++frames;
  }
  EXPECT_EQ(at, got.size());
  EXPECT_EQ(frames, accepted);
}

TEST(StreamListen, ErrorsNameTheOption) {
  auto p = io::Poller::create();
  ASSERT_TRUE(p);
  const Endpoint at{IpAddress::v4(0xC0000201u), 3478};  // 192.0.2.1: not on this host
  auto s = StreamServer::listen(std::span(&at, 1), relay::Transport::kTcp, nullptr, *p, 1, {},
                                "--listen");
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().message.find("--listen 192.0.2.1:3478"), std::string::npos)
      << s.error().message;
}

}  // namespace
}  // namespace tern::relayd

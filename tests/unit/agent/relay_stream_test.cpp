// The relay's TCP connection (relay_stream.hpp) against a listener on loopback: frames split
// off the stream in any pieces reach the inbox one datagram each, ChannelData without its
// padding; frames sent go out whole; a closed or garbled stream is dropped with a backoff.
#include "agent/relay_stream.hpp"

#include <gtest/gtest.h>
#include <poll.h>

#include <array>
#include <cstring>
#include <vector>

namespace tern::agent {
namespace {

const IpAddress kLoopback = IpAddress::v4({127, 0, 0, 1});

TEST(RelayStream, UrlTransport) {
  EXPECT_TRUE(relay_url_is_tcp("turn:192.0.2.1?transport=tcp"));
  EXPECT_TRUE(relay_url_is_tcp("turn:192.0.2.1:443?Transport=TCP"));
  EXPECT_FALSE(relay_url_is_tcp("turn:192.0.2.1?transport=udp"));
  EXPECT_FALSE(relay_url_is_tcp("turn:192.0.2.1"));
  EXPECT_FALSE(relay_url_is_tcp("turn:192.0.2.1?transport=tcpx"));
}

bool wait_readable(int fd) {
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, 2000) > 0;
}

struct Fixture {
  io::TcpListener listener;
  io::UdpSocket inbox;
  RelayStream stream;
  std::optional<io::TcpStream> server;
  Instant now{};

  static Fixture make() {
    auto l = io::TcpListener::listen(Endpoint{kLoopback, 0});
    EXPECT_TRUE(l);
    auto in = io::UdpSocket::bind(Endpoint{kLoopback, 0});
    EXPECT_TRUE(in);
    auto s = RelayStream::open(l->local(), in->fd(), in->local_port());
    EXPECT_TRUE(s);
    return Fixture{std::move(*l), std::move(*in), std::move(*s), std::nullopt, Instant{}};
  }

  // Connects and accepts; true once the stream reported coming up.
  bool up() {
    stream.connect(now);
    bool came_up = false;
    for (int i = 0; i < 100 && !(came_up && server); ++i) {
      if (!server) {
        if (auto a = listener.accept(); a && *a) server = std::move(**a);
      }
      if (wait_readable(stream.fd()) && stream.pump(64, now)) came_up = true;
    }
    return came_up && server;
  }

  void server_write(Bytes b) {
    while (!b.empty()) {
      auto w = server->write(b);
      ASSERT_TRUE(w);
      b = b.subspan(w->bytes);
    }
  }
};

std::vector<uint8_t> stun_frame() {
  // A Binding success with no attributes: type, length 0, magic cookie, transaction id.
  std::vector<uint8_t> f = {0x01, 0x01, 0x00, 0x00, 0x21, 0x12, 0xA4, 0x42};
  for (uint8_t i = 0; i < 12; ++i)
    f.push_back(i);
  return f;
}

TEST(RelayStream, FramesInPiecesReachTheInboxOneDatagramEach) {
  Fixture f = Fixture::make();
  ASSERT_TRUE(f.up());
  EXPECT_TRUE(f.stream.connected());
  std::vector<uint8_t> bytes = stun_frame();
  // ChannelData 0x4000 with 5 bytes, padded to 8 on the stream.
  const std::array<uint8_t, 12> cd = {0x40, 0x00, 0x00, 0x05, 'h', 'e', 'l', 'l', 'o', 0, 0, 0};
  bytes.insert(bytes.end(), cd.begin(), cd.end());
  f.server_write(Bytes(bytes.data(), 13));  // split inside the first frame
  ASSERT_TRUE(wait_readable(f.stream.fd()));
  (void)f.stream.pump(64, f.now);
  f.server_write(Bytes(bytes.data() + 13, bytes.size() - 13));
  io::RecvBatch batch(8, 2048);
  std::vector<std::vector<uint8_t>> got;
  for (int i = 0; i < 50 && got.size() < 2; ++i) {
    ASSERT_TRUE(wait_readable(f.stream.fd()));
    (void)f.stream.pump(64, f.now);
    auto n = f.inbox.recv(batch);
    ASSERT_TRUE(n);
    for (size_t k = 0; k < *n; ++k) {
      EXPECT_EQ(batch.from(k), f.stream.source());
      got.emplace_back(batch.data(k).begin(), batch.data(k).end());
    }
  }
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0], stun_frame());
  EXPECT_EQ(got[1], std::vector<uint8_t>(cd.begin(), cd.begin() + 9));  // without the padding

  // Sent frames arrive whole, in order.
  ASSERT_TRUE(f.stream.send(Bytes(cd.data(), cd.size()), f.now));
  ASSERT_TRUE(f.stream.send(stun_frame(), f.now));
  std::vector<uint8_t> read;
  std::array<uint8_t, 256> buf{};
  for (int i = 0; i < 50 && read.size() < 32; ++i) {
    ASSERT_TRUE(wait_readable(f.server->fd()));
    auto r = f.server->read(buf);
    ASSERT_TRUE(r);
    read.insert(read.end(), buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(r->bytes));
  }
  std::vector<uint8_t> want(cd.begin(), cd.end());
  const auto s = stun_frame();
  want.insert(want.end(), s.begin(), s.end());
  EXPECT_EQ(read, want);
}

TEST(RelayStream, PumpStopsAtItsLimitAndSaysSo) {
  Fixture f = Fixture::make();
  ASSERT_TRUE(f.up());
  std::vector<uint8_t> three;
  for (int i = 0; i < 3; ++i) {
    const auto s = stun_frame();
    three.insert(three.end(), s.begin(), s.end());
  }
  f.server_write(three);
  ASSERT_TRUE(wait_readable(f.stream.fd()));
  (void)f.stream.pump(2, f.now);
  EXPECT_TRUE(f.stream.backlog());  // the third frame waits in the buffer, not in the socket
  io::RecvBatch batch(8, 2048);
  auto n = f.inbox.recv(batch);
  ASSERT_TRUE(n);
  EXPECT_EQ(*n, 2u);
  (void)f.stream.pump(2, f.now);
  EXPECT_FALSE(f.stream.backlog());
  n = f.inbox.recv(batch);
  ASSERT_TRUE(n);
  EXPECT_EQ(*n, 1u);
  EXPECT_EQ(std::vector<uint8_t>(batch.data(0).begin(), batch.data(0).end()), stun_frame());
}

TEST(RelayStream, ClosedOrGarbledStreamIsDroppedWithBackoff) {
  Fixture f = Fixture::make();
  ASSERT_TRUE(f.up());
  f.server.reset();  // the relay closes the connection
  for (int i = 0; i < 50 && !f.stream.down(); ++i) {
    if (wait_readable(f.stream.fd())) (void)f.stream.pump(64, f.now);
  }
  EXPECT_TRUE(f.stream.down());
  EXPECT_TRUE(f.stream.take_lost());
  EXPECT_FALSE(f.stream.take_lost());
  EXPECT_FALSE(f.stream.send(stun_frame(), f.now));
  ASSERT_TRUE(f.stream.reconnect_at());
  EXPECT_EQ(*f.stream.reconnect_at(), f.now + std::chrono::seconds(1));
  f.stream.connect(f.now);  // too early: nothing happens
  EXPECT_TRUE(f.stream.down());

  // After the backoff it connects again; a frame with top bits 10 ends it, the backoff doubled.
  f.now += std::chrono::seconds(1);
  ASSERT_TRUE(f.up());
  const std::array<uint8_t, 4> garbage = {0x80, 0, 0, 0};
  f.server_write(garbage);
  for (int i = 0; i < 50 && !f.stream.down(); ++i) {
    if (wait_readable(f.stream.fd())) (void)f.stream.pump(64, f.now);
  }
  EXPECT_TRUE(f.stream.down());
  ASSERT_TRUE(f.stream.reconnect_at());
  EXPECT_EQ(*f.stream.reconnect_at(),
            f.now + std::chrono::seconds(1));  // a connection that came up resets it
}

}  // namespace
}  // namespace tern::agent

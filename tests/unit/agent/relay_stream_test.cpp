// The relay's TCP connection (relay_stream.hpp) against a listener on loopback: frames split
// off the stream in any pieces come out whole, in place, ChannelData without its padding
// (compared with the list written, on random frames in random pieces); frames sent go out
// whole; a pump at its limit says so and keeps fd() signalling; a closed or garbled stream is
// dropped with a backoff.
#include "agent/relay_stream.hpp"

#include <gtest/gtest.h>
#include <poll.h>

#include <array>
#include <cstring>
#include <random>
#include <vector>

namespace tern::agent {
namespace {

const IpAddress kLoopback = IpAddress::v4({127, 0, 0, 1});
using Frame = std::vector<uint8_t>;

TEST(RelayStream, UrlTransport) {
  EXPECT_TRUE(relay_url_is_tcp("turn:192.0.2.1?transport=tcp"));
  EXPECT_TRUE(relay_url_is_tcp("turn:192.0.2.1:443?Transport=TCP"));
  EXPECT_FALSE(relay_url_is_tcp("turn:192.0.2.1?transport=udp"));
  EXPECT_FALSE(relay_url_is_tcp("turn:192.0.2.1"));
  EXPECT_FALSE(relay_url_is_tcp("turn:192.0.2.1?transport=tcpx"));
}

bool readable(int fd, int ms = 2000) {
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, ms) > 0;
}

struct Fixture {
  io::TcpListener listener;
  RelayStream stream;
  std::optional<io::TcpStream> server;
  std::array<MutableBytes, 64> frames{};
  Instant now{};

  static Fixture make() {
    auto l = io::TcpListener::listen(Endpoint{kLoopback, 0});
    EXPECT_TRUE(l);
    auto s = RelayStream::open(l->local());
    EXPECT_TRUE(s);
    return Fixture{std::move(*l), std::move(*s), std::nullopt, {}, Instant{}};
  }

  // Connects and accepts; true once the stream reported coming up.
  bool up() {
    stream.connect(now);
    bool came_up = false;
    for (int i = 0; i < 100 && !(came_up && server); ++i) {
      if (!server) {
        if (auto a = listener.accept(); a && *a) server = std::move(**a);
      }
      if (readable(stream.fd())) {
        EXPECT_EQ(stream.pump(frames, now), 0u);
        if (stream.take_came_up()) came_up = true;
      }
    }
    return came_up && server;
  }

  void server_write(Bytes b) {
    while (!b.empty()) {
      auto w = server->write(b);
      ASSERT_TRUE(w);
      if (w->would_block()) {
        // The client's buffer is full: take what is there (the frames are dropped here).
        (void)stream.pump(frames, now);
        continue;
      }
      b = b.subspan(w->bytes);
    }
  }

  // Pumps until `want` frames came or nothing more arrives; copies them out.
  std::vector<Frame> take(size_t want, size_t per_pump = 64) {
    std::vector<Frame> got;
    for (int i = 0; i < 200 && got.size() < want; ++i) {
      if (!stream.backlog() && !readable(stream.fd(), 100)) continue;
      const size_t n = stream.pump(std::span(frames).first(per_pump), now);
      for (size_t k = 0; k < n; ++k)
        got.emplace_back(frames[k].begin(), frames[k].end());
    }
    return got;
  }
};

Frame stun_frame(size_t body = 0, uint8_t fill = 0) {
  // A Binding success: type, length, magic cookie, transaction id, then `body` bytes.
  Frame f = {0x01, 0x01, static_cast<uint8_t>(body >> 8), static_cast<uint8_t>(body), 0x21, 0x12,
             0xA4, 0x42};
  for (uint8_t i = 0; i < 12; ++i)
    f.push_back(i);
  f.resize(f.size() + body, fill);
  return f;
}

Frame channel_data(size_t length, uint8_t fill) {
  Frame f = {0x40, 0x01, static_cast<uint8_t>(length >> 8), static_cast<uint8_t>(length)};
  f.resize(4 + length, fill);
  return f;
}

size_t padded(size_t n) {
  return (n + 3) & ~size_t{3};
}

TEST(RelayStream, FramesInPiecesComeOutWholeAndInPlace) {
  Fixture f = Fixture::make();
  ASSERT_TRUE(f.up());
  EXPECT_TRUE(f.stream.connected());
  Frame bytes = stun_frame();
  // ChannelData 0x4001 with 5 bytes, padded to 12 on the stream.
  const Frame cd = channel_data(5, 'h');
  bytes.insert(bytes.end(), cd.begin(), cd.end());
  bytes.resize(bytes.size() + 3, 0);
  f.server_write(Bytes(bytes.data(), 13));  // split inside the first frame
  ASSERT_TRUE(readable(f.stream.fd()));
  EXPECT_EQ(f.stream.pump(f.frames, f.now), 0u);
  f.server_write(Bytes(bytes.data() + 13, bytes.size() - 13));
  auto got = f.take(2);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0], stun_frame());
  EXPECT_EQ(got[1], cd);  // without the padding

  // Sent frames arrive whole, in order.
  const Frame cd_padded = {0x40, 0x00, 0x00, 0x05, 'h', 'e', 'l', 'l', 'o', 0, 0, 0};
  ASSERT_TRUE(f.stream.send(cd_padded, f.now));
  ASSERT_TRUE(f.stream.send(stun_frame(), f.now));
  Frame read;
  std::array<uint8_t, 256> buf{};
  for (int i = 0; i < 50 && read.size() < 32; ++i) {
    ASSERT_TRUE(readable(f.server->fd()));
    auto r = f.server->read(buf);
    ASSERT_TRUE(r);
    read.insert(read.end(), buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(r->bytes));
  }
  Frame want = cd_padded;
  const auto s = stun_frame();
  want.insert(want.end(), s.begin(), s.end());
  EXPECT_EQ(read, want);
}

// The reference: the frames as written. The stream must give back exactly these, whatever the
// pieces they were written in and however many a pump may take.
TEST(RelayStream, RandomFramesInRandomPiecesMatchWhatWasWritten) {
  Fixture f = Fixture::make();
  ASSERT_TRUE(f.up());
  std::mt19937 rng(4);
  std::vector<Frame> sent;
  Frame wire;
  for (int i = 0; i < 600; ++i) {
    const uint8_t fill = static_cast<uint8_t>(i);
    const size_t size = rng() % 8 == 0 ? rng() % 65000 : rng() % 1500;
    if (rng() % 3 == 0) {
      sent.push_back(stun_frame(size & ~size_t{3}, fill));
      wire.insert(wire.end(), sent.back().begin(), sent.back().end());
    } else {
      sent.push_back(channel_data(size, fill));
      wire.insert(wire.end(), sent.back().begin(), sent.back().end());
      wire.resize(wire.size() + padded(sent.back().size()) - sent.back().size(), 0);
    }
  }
  std::vector<Frame> got;
  size_t at = 0;
  for (int i = 0; i < 100000 && got.size() < sent.size(); ++i) {
    if (at < wire.size()) {
      const size_t piece = std::min<size_t>(wire.size() - at, 1 + rng() % 9000);
      auto w = f.server->write(Bytes(wire.data() + at, piece));
      ASSERT_TRUE(w);
      at += w->bytes;
    }
    if (!f.stream.backlog() && !readable(f.stream.fd(), at < wire.size() ? 0 : 100)) continue;
    const size_t n = f.stream.pump(std::span(f.frames).first(1 + rng() % 64), f.now);
    for (size_t k = 0; k < n; ++k)
      got.emplace_back(f.frames[k].begin(), f.frames[k].end());
  }
  ASSERT_EQ(got.size(), sent.size());
  for (size_t i = 0; i < sent.size(); ++i)
    ASSERT_EQ(got[i], sent[i]) << "frame " << i;
  EXPECT_FALSE(f.stream.down());
}

TEST(RelayStream, PumpStopsAtItsLimitAndKeepsSignalling) {
  Fixture f = Fixture::make();
  ASSERT_TRUE(f.up());
  Frame three;
  for (int i = 0; i < 3; ++i) {
    const auto s = stun_frame();
    three.insert(three.end(), s.begin(), s.end());
  }
  f.server_write(three);
  ASSERT_TRUE(readable(f.stream.fd()));
  EXPECT_EQ(f.stream.pump(std::span(f.frames).first(2), f.now), 2u);
  EXPECT_TRUE(f.stream.backlog());  // the third frame waits in the buffer, not in the socket
  // Nothing new arrives, yet fd() signals: the loop comes back for the third frame.
  EXPECT_TRUE(readable(f.stream.fd(), 0));
  EXPECT_EQ(f.stream.pump(std::span(f.frames).first(2), f.now), 1u);
  EXPECT_EQ(Frame(f.frames[0].begin(), f.frames[0].end()), stun_frame());
  EXPECT_FALSE(f.stream.backlog());
  EXPECT_FALSE(readable(f.stream.fd(), 0));
}

TEST(RelayStream, ClosedOrGarbledStreamIsDroppedWithBackoff) {
  Fixture f = Fixture::make();
  ASSERT_TRUE(f.up());
  f.server.reset();  // the relay closes the connection
  for (int i = 0; i < 50 && !f.stream.down(); ++i) {
    if (readable(f.stream.fd())) (void)f.stream.pump(f.frames, f.now);
  }
  EXPECT_TRUE(f.stream.down());
  EXPECT_TRUE(f.stream.take_lost());
  EXPECT_FALSE(f.stream.take_lost());
  EXPECT_EQ(f.stream.failures(), 1u);
  EXPECT_EQ(f.stream.last_error(), "the relay closed it");
  EXPECT_FALSE(f.stream.send(stun_frame(), f.now));
  ASSERT_TRUE(f.stream.reconnect_at());
  EXPECT_EQ(*f.stream.reconnect_at(), f.now + std::chrono::seconds(1));
  f.stream.connect(f.now);  // too early: nothing happens
  EXPECT_TRUE(f.stream.down());

  // After the backoff it connects again; a frame with top bits 10 ends it, the backoff doubled.
  f.now += std::chrono::seconds(1);
  ASSERT_TRUE(f.up());
  EXPECT_EQ(f.stream.failures(), 0u);
  const std::array<uint8_t, 4> garbage = {0x80, 0, 0, 0};
  f.server_write(garbage);
  for (int i = 0; i < 50 && !f.stream.down(); ++i) {
    if (readable(f.stream.fd())) (void)f.stream.pump(f.frames, f.now);
  }
  EXPECT_TRUE(f.stream.down());
  EXPECT_NE(f.stream.last_error().find("not STUN or ChannelData"), std::string::npos);
  ASSERT_TRUE(f.stream.reconnect_at());
  EXPECT_EQ(*f.stream.reconnect_at(),
            f.now + std::chrono::seconds(1));  // a connection that came up resets it
}

}  // namespace
}  // namespace tern::agent

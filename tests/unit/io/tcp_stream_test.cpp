#include "io/tcp_stream.hpp"

#include <gtest/gtest.h>
#include <sys/socket.h>

#include <vector>

#include "io/poller.hpp"

namespace tern::io {
namespace {

Endpoint loopback(uint16_t port) {
  return Endpoint{*IpAddress::parse("127.0.0.1"), port};
}

// Connects a client to `listener` and accepts it, driving both without blocking.
std::pair<TcpStream, TcpStream> connected_pair(TcpListener& listener) {
  auto client = TcpStream::connect(listener.local());
  EXPECT_TRUE(client) << client.error().message;
  auto poller = Poller::create();
  EXPECT_TRUE(poller);
  EXPECT_TRUE(poller->add(listener.fd(), 1, true, false));
  std::optional<TcpStream> server;
  for (int i = 0; i < 100 && !server; ++i) {
    std::array<Ready, 4> ready{};
    (void)poller->wait(Duration(100ms), ready);
    auto accepted = listener.accept();
    EXPECT_TRUE(accepted) << accepted.error().message;
    if (*accepted) server = std::move(**accepted);
  }
  EXPECT_TRUE(server.has_value());
  for (int i = 0; i < 100; ++i) {
    auto done = client->finish_connect();
    EXPECT_TRUE(done) << done.error().message;
    if (*done) break;
  }
  EXPECT_TRUE(client->connected());
  return {std::move(*client), std::move(*server)};
}

TEST(TcpStream, ConnectsAcceptsAndMovesBytesBothWays) {
  auto listener = TcpListener::listen(loopback(0));
  ASSERT_TRUE(listener) << listener.error().message;
  EXPECT_NE(listener->local().port, 0);
  auto [client, server] = connected_pair(*listener);
  EXPECT_EQ(server.peer(), client.local());
  EXPECT_EQ(client.peer(), listener->local());
  ASSERT_TRUE(client.set_no_delay(true));

  std::array<uint8_t, 64> buf{};
  auto nothing = server.read(buf);
  ASSERT_TRUE(nothing);
  EXPECT_EQ(nothing->wait, IoWait::kRead);
  EXPECT_EQ(nothing->bytes, 0u);

  std::vector<uint8_t> hello = {'h', 'e', 'l', 'l', 'o'};
  auto wrote = client.write(hello);
  ASSERT_TRUE(wrote);
  EXPECT_EQ(wrote->bytes, hello.size());
  auto poller = Poller::create();
  ASSERT_TRUE(poller);
  ASSERT_TRUE(poller->add(server.fd(), 7, true, false));
  std::array<Ready, 2> ready{};
  auto n = poller->wait(Duration(1s), ready);
  ASSERT_TRUE(n);
  ASSERT_EQ(*n, 1u);
  EXPECT_EQ(ready[0].token, 7u);
  auto got = server.read(buf);
  ASSERT_TRUE(got);
  ASSERT_EQ(got->bytes, hello.size());
  EXPECT_TRUE(std::equal(hello.begin(), hello.end(), buf.begin()));

  // Orderly close: the reader sees end of stream, not an error.
  ASSERT_TRUE(client.shutdown_write());
  (void)poller->wait(Duration(1s), ready);
  auto eof = server.read(buf);
  ASSERT_TRUE(eof);
  EXPECT_TRUE(eof->closed);
  // The other direction still works after a half close.
  auto back = server.write(hello);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->bytes, hello.size());
}

TEST(TcpStream, FullSendBufferAsksToWaitForWritability) {
  auto listener = TcpListener::listen(loopback(0));
  ASSERT_TRUE(listener);
  auto [client, server] = connected_pair(*listener);
  std::vector<uint8_t> chunk(64 * 1024, 0xab);
  size_t total = 0;
  bool blocked = false;
  for (int i = 0; i < 10000 && !blocked; ++i) {
    auto w = client.write(chunk);
    ASSERT_TRUE(w) << w.error().message;
    total += w->bytes;
    blocked = w->wait == IoWait::kWrite;
  }
  EXPECT_TRUE(blocked);
  // Everything accepted arrives, in order.
  std::vector<uint8_t> buf(64 * 1024);
  size_t received = 0;
  for (int i = 0; i < 100000 && received < total; ++i) {
    auto r = server.read(buf);
    ASSERT_TRUE(r);
    ASSERT_FALSE(r->closed);
    for (size_t k = 0; k < r->bytes; ++k)
      ASSERT_EQ(buf[k], 0xab);
    received += r->bytes;
  }
  EXPECT_EQ(received, total);
}

TEST(TcpStream, RefusedConnectNamesTheCause) {
  // A listener closed at once leaves a port nothing listens on.
  uint16_t port = 0;
  {
    auto listener = TcpListener::listen(loopback(0));
    ASSERT_TRUE(listener);
    port = listener->local().port;
  }
  auto client = TcpStream::connect(loopback(port));
  if (!client) {
    EXPECT_NE(client.error().message.find("refused"), std::string::npos);
    return;
  }
  auto poller = Poller::create();
  ASSERT_TRUE(poller);
  ASSERT_TRUE(poller->add(client->fd(), 1, false, true));
  std::array<Ready, 2> ready{};
  (void)poller->wait(Duration(1s), ready);
  auto done = client->finish_connect();
  ASSERT_FALSE(done);
  EXPECT_NE(done.error().message.find("connection refused by 127.0.0.1:"), std::string::npos)
      << done.error().message;
}

TEST(TcpListener, PortInUseIsAClearError) {
  auto first = TcpListener::listen(loopback(0));
  ASSERT_TRUE(first);
  // SO_REUSEADDR does not allow two listeners on one port.
  auto second = TcpListener::listen(first->local());
  ASSERT_FALSE(second);
  EXPECT_NE(second.error().message.find("in use"), std::string::npos) << second.error().message;
}

TEST(TcpListener, AcceptWithNothingPendingIsEmpty) {
  auto listener = TcpListener::listen(loopback(0));
  ASSERT_TRUE(listener);
  auto accepted = listener->accept();
  ASSERT_TRUE(accepted);
  EXPECT_FALSE(accepted->has_value());
}

TEST(TcpStream, AdoptsASocketPair) {
  int fds[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
  auto a = TcpStream::adopt(UniqueFd(fds[0]));
  auto b = TcpStream::adopt(UniqueFd(fds[1]));
  ASSERT_TRUE(a && b);
  std::array<uint8_t, 3> msg = {1, 2, 3};
  ASSERT_TRUE(a->write(msg));
  std::array<uint8_t, 8> buf{};
  auto r = b->read(buf);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->bytes, 3u);
  auto again = b->read(buf);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->wait, IoWait::kRead);
}

}  // namespace
}  // namespace tern::io

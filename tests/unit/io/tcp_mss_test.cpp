// TcpConnectOptions::mss reaches the socket before the SYN (the kernel reports the segment size
// in use after connect, at most the one asked for), and progress() reads TCP_INFO.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>

#include <array>
#include <optional>

#include "io/tcp_stream.hpp"

namespace tern::io {
namespace {

const Endpoint kAny{IpAddress::v4({127, 0, 0, 1}), 0};

struct Pair {
  TcpStream client;
  TcpStream server;
};

// A connected pair on loopback, the client with `options`.
std::optional<Pair> connect_pair(TcpListener& listener, const TcpConnectOptions& options) {
  auto client = TcpStream::connect(listener.local(), options);
  EXPECT_TRUE(client) << client.error().message;
  if (!client) return std::nullopt;
  std::optional<TcpStream> server;
  for (int i = 0; i < 200 && !server; ++i) {
    pollfd p{listener.fd(), POLLIN, 0};
    (void)::poll(&p, 1, 10);
    auto a = listener.accept();
    EXPECT_TRUE(a);
    if (a && *a) server = std::move(**a);
  }
  for (int i = 0; i < 200 && !client->connected(); ++i) {
    pollfd p{client->fd(), POLLOUT, 0};
    (void)::poll(&p, 1, 10);
    EXPECT_TRUE(client->finish_connect());
  }
  if (!server || !client->connected()) return std::nullopt;
  return Pair{std::move(*client), std::move(*server)};
}

int maxseg(int fd) {
  int v = 0;
  socklen_t len = sizeof v;
  EXPECT_EQ(::getsockopt(fd, IPPROTO_TCP, TCP_MAXSEG, &v, &len), 0);
  return v;
}

TEST(TcpMss, TheSegmentSizeAskedForIsTheOneInUse) {
  auto listener = TcpListener::listen(kAny);
  ASSERT_TRUE(listener) << listener.error().message;
  auto p = connect_pair(*listener, {.mss = 1220});
  ASSERT_TRUE(p);
  // TCP options (timestamps) come off the clamp: a segment carries at most 1220 bytes.
  EXPECT_LE(maxseg(p->client.fd()), 1220);
  EXPECT_GT(maxseg(p->client.fd()), 1220 - 40);
  // The SYN announced it: the server's segments are as small.
  EXPECT_LE(maxseg(p->server.fd()), 1220);
  auto progress = p->client.progress();
  ASSERT_TRUE(progress);
  EXPECT_EQ(progress->mss, static_cast<uint32_t>(maxseg(p->client.fd())));
  EXPECT_EQ(progress->unacked, 0u);
  EXPECT_EQ(progress->retransmits, 0u);
}

TEST(TcpMss, WithoutTheOptionLoopbackSegmentsAreLarge) {
  auto listener = TcpListener::listen(kAny);
  ASSERT_TRUE(listener) << listener.error().message;
  auto p = connect_pair(*listener, {});
  ASSERT_TRUE(p);
  EXPECT_GT(maxseg(p->client.fd()), 8000);  // loopback's MTU is 64 KiB
  auto progress = p->client.progress();
  ASSERT_TRUE(progress);
  EXPECT_GT(progress->mss, 8000u);
}

TEST(TcpMss, NoProgressOnASocketThatIsNotTcp) {
  std::array<int, 2> fds{};
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds.data()), 0);
  auto s = TcpStream::adopt(UniqueFd(fds[0]));
  ASSERT_TRUE(s);
  EXPECT_FALSE(s->progress());
  ::close(fds[1]);
}

}  // namespace
}  // namespace tern::io

// TcpConnectOptions::mark: the relay's TCP/TLS connection carries the interface's FwMark from
// its first packet (SO_MARK set before connect), like the WireGuard UDP socket.
#include <gtest/gtest.h>
#include <sys/socket.h>

#include <cstdint>

#include "io/tcp_stream.hpp"

namespace tern::io {
namespace {

uint32_t mark_of(int fd) {
  uint32_t mark = 0;
  socklen_t len = sizeof mark;
  EXPECT_EQ(::getsockopt(fd, SOL_SOCKET, SO_MARK, &mark, &len), 0);
  return mark;
}

TEST(TcpMark, AMarkedStreamReportsItsMark) {
  auto listener = TcpListener::listen(Endpoint{IpAddress::v4({127, 0, 0, 1}), 0});
  ASSERT_TRUE(listener) << listener.error().message;
  auto s = TcpStream::connect(listener->local(), TcpConnectOptions{.mark = 0xca6c});
  if (!s && s.error().message.find("CAP_NET_ADMIN") != std::string::npos) {
    GTEST_SKIP() << s.error().message;
  }
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_EQ(mark_of(s->fd()), 0xca6cu);
  // The connect still goes ahead: the listener has it pending.
  std::optional<TcpStream> accepted;
  for (int i = 0; i < 200 && !accepted; ++i) {
    auto a = listener->accept();
    ASSERT_TRUE(a) << a.error().message;
    if (*a) accepted = std::move(**a);
  }
  EXPECT_TRUE(accepted);
}

TEST(TcpMark, NoMarkLeavesTheSocketUnmarked) {
  auto listener = TcpListener::listen(Endpoint{IpAddress::v4({127, 0, 0, 1}), 0});
  ASSERT_TRUE(listener) << listener.error().message;
  auto s = TcpStream::connect(listener->local());
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_EQ(mark_of(s->fd()), 0u);
}

}  // namespace
}  // namespace tern::io

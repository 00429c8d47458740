// ClientConn against a plain TCP server on loopback (a thread with blocking sockets): a request
// written whole, the answer read to the end, a refused connection, a read that times out.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <string>
#include <thread>

#include "io/client_conn.hpp"
#include "io/clock.hpp"

namespace tern::io {
namespace {

using namespace std::chrono_literals;

// A listening socket on 127.0.0.1 and an ephemeral port.
struct Listener {
  int fd = -1;
  uint16_t port = 0;
  Listener() {
    fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    EXPECT_EQ(::listen(fd, 4), 0);
    socklen_t len = sizeof a;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    port = ntohs(a.sin_port);
  }
  ~Listener() { ::close(fd); }
  Endpoint endpoint() const { return *Endpoint::parse("127.0.0.1:" + std::to_string(port)); }
};

TEST(ClientConn, WritesARequestAndReadsTheAnswerToTheEnd) {
  Listener l;
  std::string got;
  const std::string answer(100'000, 'x');  // more than one read
  std::thread server([&] {
    const int c = ::accept(l.fd, nullptr, nullptr);
    char buf[64];
    while (got.size() < 5) {
      const ssize_t n = ::read(c, buf, sizeof buf);
      if (n <= 0) break;
      got.append(buf, static_cast<size_t>(n));
    }
    size_t sent = 0;
    while (sent < answer.size()) {
      const ssize_t n = ::write(c, answer.data() + sent, answer.size() - sent);
      if (n <= 0) break;
      sent += static_cast<size_t>(n);
    }
    ::close(c);
  });
  const Instant deadline = monotonic_now() + 5s;
  auto conn = ClientConn::connect({l.endpoint(), false, "", ""}, deadline);
  ASSERT_TRUE(conn) << conn.error().message;
  ASSERT_TRUE(conn->write_all("hello", deadline));
  std::string in;
  for (int i = 0; i < 10'000; ++i) {
    auto more = conn->read_some(in, deadline);
    ASSERT_TRUE(more) << more.error().message;
    if (!*more) break;
  }
  server.join();
  EXPECT_EQ(got, "hello");
  EXPECT_EQ(in, answer);
}

TEST(ClientConn, RefusedAndSilentServers) {
  uint16_t closed_port = 0;
  {
    Listener gone;
    closed_port = gone.port;
  }
  auto refused = ClientConn::connect(
      {*Endpoint::parse("127.0.0.1:" + std::to_string(closed_port)), false, "", ""},
      monotonic_now() + 5s);
  EXPECT_FALSE(refused);

  Listener silent;  // accepts (the kernel does) but never answers
  auto conn = ClientConn::connect({silent.endpoint(), false, "", ""}, monotonic_now() + 5s);
  ASSERT_TRUE(conn) << conn.error().message;
  std::string in;
  const Instant start = monotonic_now();
  auto more = conn->read_some(in, start + 200ms);
  ASSERT_TRUE(more);
  EXPECT_TRUE(*more);  // still open, nothing came
  EXPECT_TRUE(in.empty());
  EXPECT_GE(monotonic_now() - start, 150ms);
}

}  // namespace
}  // namespace tern::io

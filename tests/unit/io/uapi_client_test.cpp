#include "io/uapi_client.hpp"

#include <gtest/gtest.h>
#include <poll.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <thread>

#include "io/unix_socket.hpp"

namespace tern::io {
namespace {

class UapiClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/tern-uapi-client-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    path_ = dir_ + "/wgtest0.sock";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // Serves one connection: reads the request up to its empty line, then writes `reply` in
  // pieces of `chunk` bytes (0: never answers). Returns the request it read.
  std::string serve_once(UnixListener& listener, const std::string& reply, size_t chunk) {
    pollfd p{listener.fd(), POLLIN, 0};
    if (::poll(&p, 1, 2000) <= 0) return "";
    auto conn = listener.accept();
    if (!conn || !*conn) return "";
    const int fd = (*conn)->get();
    std::string request;
    uint8_t buf[256];
    while (request.find("\n\n") == std::string::npos) {
      pollfd q{fd, POLLIN, 0};
      if (::poll(&q, 1, 2000) <= 0) return request;
      auto n = read_some(fd, buf);
      if (!n || !*n || **n == 0) return request;
      request.append(reinterpret_cast<const char*>(buf), **n);
    }
    for (size_t off = 0; chunk && off < reply.size(); off += chunk) {
      const size_t len = std::min(chunk, reply.size() - off);
      auto w = write_some(fd, Bytes(reinterpret_cast<const uint8_t*>(reply.data()) + off, len));
      if (!w) break;
      ::usleep(1000);
    }
    if (!chunk) ::usleep(300'000);  // silent until the client gives up
    return request;
  }

  std::string dir_;
  std::string path_;
};

TEST_F(UapiClientTest, ExchangesOneRequestAndAReplyArrivingInPieces) {
  auto listener = UnixListener::listen(path_);
  ASSERT_TRUE(listener) << listener.error().message;
  const std::string reply = "private_key=00\nlisten_port=51820\nerrno=0\n\n";
  std::string seen;
  std::thread server([&] { seen = serve_once(*listener, reply, 7); });
  auto got = uapi_exchange(path_, "get=1\n\n", 1024, 2000);
  server.join();
  ASSERT_TRUE(got) << got.error().message;
  EXPECT_EQ(*got, reply);
  EXPECT_EQ(seen, "get=1\n\n");
}

TEST_F(UapiClientTest, ASilentServerTimesOutNamingTheSocket) {
  auto listener = UnixListener::listen(path_);
  ASSERT_TRUE(listener) << listener.error().message;
  std::thread server([&] { serve_once(*listener, "", 0); });
  auto got = uapi_exchange(path_, "get=1\n\n", 1024, 100);
  server.join();
  ASSERT_FALSE(got);
  EXPECT_NE(got.error().message.find("no answer from " + path_), std::string::npos);
}

TEST_F(UapiClientTest, AReplyLargerThanTheLimitIsRefused) {
  auto listener = UnixListener::listen(path_);
  ASSERT_TRUE(listener) << listener.error().message;
  const std::string reply(4096, 'x');
  std::thread server([&] { serve_once(*listener, reply, 4096); });
  auto got = uapi_exchange(path_, "get=1\n\n", 1000, 2000);
  server.join();
  ASSERT_FALSE(got);
  EXPECT_NE(got.error().message.find("too large"), std::string::npos);
}

TEST_F(UapiClientTest, NoSocketIsAnError) {
  auto got = uapi_exchange(path_, "get=1\n\n", 1024, 100);
  EXPECT_FALSE(got);
}

}  // namespace
}  // namespace tern::io

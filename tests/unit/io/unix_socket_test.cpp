#include "io/unix_socket.hpp"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>

namespace tern::io {
namespace {

class UnixListenerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/tern-unix-test-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    path_ = dir_ + "/wireguard/wgtest0.sock";  // the subdirectory does not exist yet
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string dir_;
  std::string path_;
};

bool exists(const std::string& p) {
  struct stat st {};
  return ::lstat(p.c_str(), &st) == 0;
}

TEST_F(UnixListenerTest, CreatesDirectoryAndPrivateSocketAndUnlinksOnDestruction) {
  {
    auto listener = UnixListener::listen(path_);
    ASSERT_TRUE(listener) << listener.error().message;
    struct stat st {};
    ASSERT_EQ(::lstat(path_.c_str(), &st), 0);
    EXPECT_TRUE(S_ISSOCK(st.st_mode));
    EXPECT_EQ(st.st_mode & 0777, 0600u);
    ASSERT_EQ(::stat((dir_ + "/wireguard").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0755u);
  }
  EXPECT_FALSE(exists(path_));
}

TEST_F(UnixListenerTest, AcceptsAndExchangesBytes) {
  auto listener = UnixListener::listen(path_);
  ASSERT_TRUE(listener) << listener.error().message;
  auto none = listener->accept();
  ASSERT_TRUE(none);
  EXPECT_FALSE(none->has_value());

  auto client = unix_connect(path_);
  ASSERT_TRUE(client) << client.error().message;
  auto conn = listener->accept();
  ASSERT_TRUE(conn) << conn.error().message;
  ASSERT_TRUE(conn->has_value());
  int server_fd = (*conn)->get();

  uint8_t buf[64];
  auto pending = read_some(server_fd, buf);
  ASSERT_TRUE(pending);
  EXPECT_FALSE(pending->has_value()) << "nothing sent yet: would block";

  const char request[] = "get=1\n\n";
  auto w = write_some(client->get(), Bytes(reinterpret_cast<const uint8_t*>(request), 7));
  ASSERT_TRUE(w);
  EXPECT_EQ(*w, 7u);
  auto r = read_some(server_fd, buf);
  ASSERT_TRUE(r);
  ASSERT_TRUE(r->has_value());
  ASSERT_EQ(**r, 7u);
  EXPECT_EQ(std::memcmp(buf, request, 7), 0);

  client->reset();
  auto eof = read_some(server_fd, buf);
  ASSERT_TRUE(eof);
  ASSERT_TRUE(eof->has_value());
  EXPECT_EQ(**eof, 0u);
  auto broken = write_some(server_fd, Bytes(buf, 1));
  EXPECT_FALSE(broken) << "writing to a closed peer fails instead of raising SIGPIPE";
}

TEST_F(UnixListenerTest, SecondListenerIsRefusedWhileTheFirstServes) {
  auto first = UnixListener::listen(path_);
  ASSERT_TRUE(first) << first.error().message;
  auto second = UnixListener::listen(path_);
  ASSERT_FALSE(second);
  EXPECT_NE(second.error().message.find("another process serves wgtest0"), std::string::npos)
      << second.error().message;
  EXPECT_TRUE(exists(path_)) << "the live socket is left alone";
  auto client = unix_connect(path_);
  EXPECT_TRUE(client) << "the first listener still answers";
}

TEST_F(UnixListenerTest, StaleSocketIsRemoved) {
  std::filesystem::create_directories(dir_ + "/wireguard");
  {  // a socket file whose process is gone: bound, never listening, closed
    int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strcpy(addr.sun_path, path_.c_str());
    ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    ::close(fd);
  }
  ASSERT_TRUE(exists(path_));
  auto stale = unix_connect(path_);
  ASSERT_FALSE(stale);
  EXPECT_NE(stale.error().message.find("nobody answers"), std::string::npos);

  auto listener = UnixListener::listen(path_);
  ASSERT_TRUE(listener) << listener.error().message;
  EXPECT_TRUE(unix_connect(path_));
}

TEST_F(UnixListenerTest, DoesNotUnlinkASuccessorsSocket) {
  auto first = std::make_unique<UnixListener>(*UnixListener::listen(path_));
  ASSERT_EQ(::unlink(path_.c_str()), 0);
  auto second = UnixListener::listen(path_);
  ASSERT_TRUE(second) << second.error().message;
  first.reset();
  EXPECT_TRUE(exists(path_));
  EXPECT_TRUE(unix_connect(path_));
}

TEST_F(UnixListenerTest, RefusesToReplaceARegularFile) {
  std::filesystem::create_directories(dir_ + "/wireguard");
  std::ofstream(path_) << "not a socket";
  auto listener = UnixListener::listen(path_);
  ASSERT_FALSE(listener);
  EXPECT_NE(listener.error().message.find("is not a socket"), std::string::npos);
  EXPECT_TRUE(exists(path_));
}

TEST_F(UnixListenerTest, ConnectToMissingSocketExplains) {
  auto client = unix_connect(path_);
  ASSERT_FALSE(client);
  EXPECT_NE(client.error().message.find("does not exist"), std::string::npos);
  EXPECT_NE(client.error().message.find("wgtest0"), std::string::npos);
}

TEST(UnixListener, RejectsOverlongPath) {
  auto listener = UnixListener::listen("/tmp/" + std::string(200, 'x'));
  ASSERT_FALSE(listener);
  EXPECT_NE(listener.error().message.find("longer than"), std::string::npos);
}

}  // namespace
}  // namespace tern::io

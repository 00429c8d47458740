// The relay's stream over TLS (Url = turns:...) against a TLS listener on loopback: the
// handshake checks the certificate against CA and the Url's host, frames cross both ways
// inside TLS, and a certificate the CA did not sign ends the attempt with a text naming
// [Relay]'s CA key, counted and retried after the backoff.
#include <gtest/gtest.h>
#include <poll.h>

#include <array>
#include <vector>

#include "agent/relay_stream.hpp"
#include "io/test_certificates.hpp"

namespace tern::agent {
namespace {

constexpr long kDay = 86400;
const IpAddress kLoopback = IpAddress::v4({127, 0, 0, 1});

bool wait_readable(int fd, int ms = 50) {
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, ms) > 0;
}

std::vector<uint8_t> stun_frame() {
  std::vector<uint8_t> f = {0x01, 0x01, 0x00, 0x00, 0x21, 0x12, 0xA4, 0x42};
  for (uint8_t i = 0; i < 12; ++i)
    f.push_back(i);
  return f;
}

class RelayStreamTls : public ::testing::Test {
 protected:
  void SetUp() override {
    ca_ = io::testing::make_cert("relay CA", "", -kDay, kDay, nullptr, true);
    other_ca_ = io::testing::make_cert("other CA", "", -kDay, kDay, nullptr, true);
    io::testing::write_cert(dir_.file("ca.pem"), ca_.cert.get());
    io::testing::write_cert(dir_.file("other.pem"), other_ca_.cert.get());
    leaf_ = io::testing::make_cert("relay.example.org", "DNS:relay.example.org", -kDay, kDay, &ca_,
                                   false);
    io::testing::write_cert(dir_.file("cert.pem"), leaf_.cert.get());
    io::testing::write_key(dir_.file("key.pem"), leaf_.key.get());
    auto l = io::TcpListener::listen(Endpoint{kLoopback, 0});
    ASSERT_TRUE(l);
    listener_.emplace(std::move(*l));
    auto ctx = io::TlsContext::server(dir_.file("cert.pem"), dir_.file("key.pem"));
    ASSERT_TRUE(ctx) << ctx.error().message;
    server_ctx_.emplace(std::move(*ctx));
  }

  RelayStream open(const std::string& ca) {
    RelayStreamOptions o;
    auto ctx = io::TlsContext::client(io::TlsClientOptions{.ca_file = dir_.file(ca)});
    EXPECT_TRUE(ctx) << ctx.error().message;
    o.tls.emplace(std::move(*ctx));
    o.server_name = "relay.example.org";
    auto s = RelayStream::open(listener_->local(), std::move(o));
    EXPECT_TRUE(s) << s.error().message;
    return std::move(*s);
  }

  // Drives both ends until the stream came up or went down; true if it came up.
  bool run(RelayStream& stream) {
    stream.connect(now_);
    bool came_up = false;
    for (int i = 0; i < 400 && !came_up && !stream.down(); ++i) {
      if (!server_) {
        if (auto a = listener_->accept(); a && *a) {
          auto t = io::TlsStream::server(*server_ctx_, std::move(**a));
          EXPECT_TRUE(t);
          server_.emplace(std::move(*t));
        }
      }
      if (server_ && !server_->handshake_done()) (void)server_->handshake();
      if (wait_readable(stream.fd(), 10)) {
        EXPECT_EQ(stream.pump(frames_, now_), 0u);
        came_up = stream.take_came_up();
      }
    }
    return came_up;
  }

  io::testing::TempDir dir_;
  io::testing::KeyAndCert ca_, other_ca_, leaf_;
  std::optional<io::TcpListener> listener_;
  std::array<MutableBytes, 64> frames_{};
  std::optional<io::TlsContext> server_ctx_;
  std::optional<io::TlsStream> server_;
  Instant now_{};
};

TEST_F(RelayStreamTls, FramesCrossInsideTls) {
  RelayStream stream = open("ca.pem");
  EXPECT_TRUE(stream.tls());
  ASSERT_TRUE(run(stream));
  EXPECT_TRUE(stream.connected());
  EXPECT_EQ(stream.failures(), 0u);

  // A frame sent arrives whole at the server, decrypted.
  ASSERT_TRUE(stream.send(stun_frame(), now_));
  std::vector<uint8_t> read;
  std::array<uint8_t, 256> buf{};
  for (int i = 0; i < 100 && read.size() < 20; ++i) {
    auto r = server_->read(buf);
    ASSERT_TRUE(r) << r.error().message;
    if (r->would_block()) {
      wait_readable(server_->fd());
      continue;
    }
    read.insert(read.end(), buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(r->bytes));
  }
  EXPECT_EQ(read, stun_frame());

  // Frames from the server come out whole, decrypted in the stream's buffer. Three in one
  // record, taken one per pump: TLS holds the rest, and fd() keeps signalling until it is out.
  std::vector<uint8_t> three;
  for (int i = 0; i < 3; ++i) {
    const auto f = stun_frame();
    three.insert(three.end(), f.begin(), f.end());
  }
  auto w = server_->write(three);
  ASSERT_TRUE(w) << w.error().message;
  ASSERT_EQ(w->bytes, three.size());
  size_t got = 0;
  for (int i = 0; i < 100 && got < 3; ++i) {
    if (!wait_readable(stream.fd())) continue;
    const size_t n = stream.pump(std::span(frames_).first(1), now_);
    if (n == 1) {
      EXPECT_EQ(std::vector<uint8_t>(frames_[0].begin(), frames_[0].end()), stun_frame());
    }
    got += n;
  }
  EXPECT_EQ(got, 3u);
}

TEST_F(RelayStreamTls, AnUntrustedCertificateNamesTheCaKeyAndIsRetried) {
  RelayStream stream = open("other.pem");
  EXPECT_FALSE(run(stream));
  EXPECT_TRUE(stream.down());
  EXPECT_EQ(stream.failures(), 1u);
  EXPECT_NE(stream.last_error().find("not trusted"), std::string::npos) << stream.last_error();
  EXPECT_NE(stream.last_error().find("CA = /path/ca.pem in [Relay]"), std::string::npos)
      << stream.last_error();
  ASSERT_TRUE(stream.reconnect_at());
  EXPECT_EQ(*stream.reconnect_at(), now_ + std::chrono::seconds(1));

  // Retried after the backoff: failing again doubles it.
  server_.reset();
  now_ += std::chrono::seconds(1);
  EXPECT_FALSE(run(stream));
  EXPECT_EQ(stream.failures(), 2u);
  EXPECT_EQ(*stream.reconnect_at(), now_ + std::chrono::seconds(2));
}

TEST_F(RelayStreamTls, TheNameMustMatch) {
  RelayStreamOptions o;
  auto ctx = io::TlsContext::client(io::TlsClientOptions{.ca_file = dir_.file("ca.pem")});
  ASSERT_TRUE(ctx);
  o.tls.emplace(std::move(*ctx));
  o.server_name = "other.example.org";
  auto s = RelayStream::open(listener_->local(), std::move(o));
  ASSERT_TRUE(s);
  EXPECT_FALSE(run(*s));
  EXPECT_NE(s->last_error().find("relay.example.org, not other.example.org"), std::string::npos)
      << s->last_error();
}

}  // namespace
}  // namespace tern::agent

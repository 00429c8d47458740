#include "io/tls_stream.hpp"

#include <gtest/gtest.h>
#include <sys/socket.h>

#include <random>
#include <vector>

#include "io/test_certificates.hpp"

namespace tern::io {
namespace {

using testing::KeyAndCert;
using testing::make_cert;
using testing::TempDir;

constexpr long kDay = 86400;

struct Pair {
  TcpStream client;
  TcpStream server;
};

Pair socket_pair() {
  int fds[2];
  EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
  return Pair{*TcpStream::adopt(UniqueFd(fds[0])), *TcpStream::adopt(UniqueFd(fds[1]))};
}

// A CA, a server certificate it signs, both on disk.
class TlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ca_ = make_cert("tern test CA", "", -kDay, 30 * kDay, nullptr, true);
    testing::write_cert(dir_.file("ca.pem"), ca_.cert.get());
    use_server_cert("DNS:turn.example.org, IP:192.0.2.7", -kDay, 30 * kDay);
  }

  void use_server_cert(const std::string& names, long from_s, long to_s,
                       const KeyAndCert* issuer = nullptr) {
    leaf_ = make_cert("turn.example.org", names, from_s, to_s, issuer ? issuer : &ca_, false);
    testing::write_cert(dir_.file("cert.pem"), leaf_.cert.get());
    testing::write_key(dir_.file("key.pem"), leaf_.key.get());
  }

  TlsContext server_context() {
    auto ctx = TlsContext::server(dir_.file("cert.pem"), dir_.file("key.pem"));
    EXPECT_TRUE(ctx) << ctx.error().message;
    return std::move(*ctx);
  }

  TlsContext client_context(bool insecure) {
    auto ctx = TlsContext::client({dir_.file("ca.pem"), insecure});
    EXPECT_TRUE(ctx) << ctx.error().message;
    return std::move(*ctx);
  }

  struct Outcome {
    Result<IoResult> client = IoResult{};
    Result<IoResult> server = IoResult{};
  };

  // Runs both handshakes in turn until both finish or one fails (then the other is stepped
  // a few more times, so it sees the alert).
  static Outcome handshake(TlsStream& client, TlsStream& server) {
    Outcome out;
    for (int i = 0; i < 200; ++i) {
      if (out.client && !client.handshake_done()) out.client = client.handshake();
      if (out.server && !server.handshake_done()) out.server = server.handshake();
      bool client_over = !out.client || client.handshake_done();
      bool server_over = !out.server || server.handshake_done();
      if (client_over && server_over) break;
      if ((!out.client || !out.server) && i > 20) break;
    }
    return out;
  }

  struct Streams {
    TlsStream client;
    TlsStream server;
  };

  Streams connect(const std::string& name, bool insecure) {
    auto tcp = socket_pair();
    auto client = TlsStream::client(client_context(insecure), std::move(tcp.client), name);
    auto server = TlsStream::server(server_context(), std::move(tcp.server));
    EXPECT_TRUE(client && server);
    return Streams{std::move(*client), std::move(*server)};
  }

  TempDir dir_;
  KeyAndCert ca_;
  KeyAndCert leaf_;
};

std::string message_of(const Result<IoResult>& r) {
  return r ? std::string("(no error)") : r.error().message;
}

TEST_F(TlsTest, HandshakeVerifiesAndCarriesDataBothWays) {
  auto s = connect("turn.example.org", false);
  auto out = handshake(s.client, s.server);
  ASSERT_TRUE(out.client) << message_of(out.client);
  ASSERT_TRUE(out.server) << message_of(out.server);
  ASSERT_TRUE(s.client.handshake_done() && s.server.handshake_done());
  EXPECT_EQ(s.client.protocol(), "TLSv1.3");
  EXPECT_FALSE(s.client.cipher().empty());

  auto facts = s.client.peer_certificate();
  ASSERT_TRUE(facts);
  EXPECT_TRUE(facts->chain_trusted);
  EXPECT_TRUE(facts->name_matches);
  EXPECT_FALSE(facts->expired);
  EXPECT_EQ(facts->subject, "CN=turn.example.org");
  EXPECT_EQ(facts->issuer, "CN=tern test CA");
  EXPECT_EQ(facts->names, (std::vector<std::string>{"turn.example.org", "192.0.2.7"}));
  EXPECT_GT(facts->not_after.unix_ns, facts->not_before.unix_ns + 30 * kDay * 1'000'000'000);
  EXPECT_EQ(certificate_problem(*facts, "turn.example.org"), "");

  // 1 MiB of random bytes each way, through partial writes and reads, checked byte for byte.
  std::mt19937 rng(7);
  std::vector<uint8_t> up(1 << 20), down(1 << 20);
  for (auto& b : up)
    b = static_cast<uint8_t>(rng());
  for (auto& b : down)
    b = static_cast<uint8_t>(rng());
  std::vector<uint8_t> got_up, got_down;
  size_t sent_up = 0, sent_down = 0;
  std::vector<uint8_t> buf(16384);
  for (int i = 0; i < 100000 && (got_up.size() < up.size() || got_down.size() < down.size()); ++i) {
    if (sent_up < up.size()) {
      auto w = s.client.write(Bytes(up).subspan(sent_up));
      ASSERT_TRUE(w) << w.error().message;
      sent_up += w->bytes;
    }
    if (sent_down < down.size()) {
      auto w = s.server.write(Bytes(down).subspan(sent_down));
      ASSERT_TRUE(w) << w.error().message;
      sent_down += w->bytes;
    }
    for (;;) {
      auto r = s.server.read(buf);
      ASSERT_TRUE(r) << r.error().message;
      if (r->bytes == 0) break;
      got_up.insert(got_up.end(), buf.begin(), buf.begin() + static_cast<long>(r->bytes));
    }
    for (;;) {
      auto r = s.client.read(buf);
      ASSERT_TRUE(r) << r.error().message;
      if (r->bytes == 0) break;
      got_down.insert(got_down.end(), buf.begin(), buf.begin() + static_cast<long>(r->bytes));
    }
  }
  EXPECT_TRUE(got_up == up);
  EXPECT_TRUE(got_down == down);

  // close_notify reads as end of stream.
  s.client.shutdown();
  auto eof = s.server.read(buf);
  ASSERT_TRUE(eof);
  EXPECT_TRUE(eof->closed);
}

TEST_F(TlsTest, AnAddressIsCheckedAgainstIpAltNames) {
  auto s = connect("192.0.2.7", false);
  auto out = handshake(s.client, s.server);
  ASSERT_TRUE(out.client) << message_of(out.client);
  EXPECT_TRUE(s.client.peer_certificate()->name_matches);
}

TEST_F(TlsTest, ExpiredCertificateFailsWithItsDate) {
  use_server_cert("DNS:turn.example.org", -10 * kDay, -kDay);
  auto s = connect("turn.example.org", false);
  auto out = handshake(s.client, s.server);
  ASSERT_FALSE(out.client);
  const std::string& msg = out.client.error().message;
  EXPECT_NE(msg.find("certificate expired on "), std::string::npos) << msg;
  EXPECT_NE(msg.find("renew it"), std::string::npos) << msg;
  // The server learns why from the client's alert.
  ASSERT_FALSE(out.server);
  EXPECT_NE(out.server.error().message.find("sent the alert 'certificate expired'"),
            std::string::npos)
      << out.server.error().message;
}

TEST_F(TlsTest, InsecureModeCompletesAndReportsTheExpiry) {
  use_server_cert("DNS:turn.example.org", -10 * kDay, -kDay);
  auto s = connect("turn.example.org", true);
  auto out = handshake(s.client, s.server);
  ASSERT_TRUE(out.client) << message_of(out.client);
  auto facts = s.client.peer_certificate();
  ASSERT_TRUE(facts);
  EXPECT_TRUE(facts->expired);
  EXPECT_FALSE(facts->chain_trusted);
  EXPECT_TRUE(facts->name_matches);
  EXPECT_NE(certificate_problem(*facts, "turn.example.org").find("expired on"), std::string::npos);
}

TEST_F(TlsTest, WrongNameFailsNamingTheCertificatesNames) {
  auto s = connect("relay.example.net", false);
  auto out = handshake(s.client, s.server);
  ASSERT_FALSE(out.client);
  EXPECT_NE(out.client.error().message.find(
                "certificate is for turn.example.org, 192.0.2.7, not relay.example.net"),
            std::string::npos)
      << out.client.error().message;

  auto insecure = connect("relay.example.net", true);
  auto ok = handshake(insecure.client, insecure.server);
  ASSERT_TRUE(ok.client) << message_of(ok.client);
  auto facts = insecure.client.peer_certificate();
  EXPECT_FALSE(facts->name_matches);
  EXPECT_TRUE(facts->chain_trusted);  // the chain is fine; only the name is wrong
}

TEST_F(TlsTest, UntrustedIssuerAndSelfSignedAreTold) {
  KeyAndCert other_ca = make_cert("other CA", "", -kDay, kDay, nullptr, true);
  use_server_cert("DNS:turn.example.org", -kDay, kDay, &other_ca);
  auto s = connect("turn.example.org", false);
  auto out = handshake(s.client, s.server);
  ASSERT_FALSE(out.client);
  EXPECT_NE(out.client.error().message.find("chain is not trusted"), std::string::npos)
      << out.client.error().message;

  // A self-signed leaf.
  leaf_ = make_cert("turn.example.org", "DNS:turn.example.org", -kDay, kDay, nullptr, false);
  testing::write_cert(dir_.file("cert.pem"), leaf_.cert.get());
  testing::write_key(dir_.file("key.pem"), leaf_.key.get());
  auto t = connect("turn.example.org", false);
  auto out2 = handshake(t.client, t.server);
  ASSERT_FALSE(out2.client);
  EXPECT_NE(out2.client.error().message.find("self-signed"), std::string::npos)
      << out2.client.error().message;
}

TEST_F(TlsTest, APeerThatDoesNotSpeakTlsIsNamed) {
  auto tcp = socket_pair();
  auto client = TlsStream::client(client_context(false), std::move(tcp.client), "turn.example.org");
  ASSERT_TRUE(client);
  // A STUN Binding request where a ServerHello should be.
  std::array<uint8_t, 20> stun = {0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xa4, 0x42};
  Result<IoResult> r = client->handshake();
  ASSERT_TRUE(r);
  ASSERT_TRUE(tcp.server.write(stun));
  for (int i = 0; i < 10 && r && r->would_block(); ++i)
    r = client->handshake();
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("does not speak TLS"), std::string::npos) << r.error().message;
}

TEST_F(TlsTest, PeerClosingInTheHandshakeIsNamed) {
  auto tcp = socket_pair();
  auto client = TlsStream::client(client_context(false), std::move(tcp.client), "turn.example.org");
  ASSERT_TRUE(client);
  ASSERT_TRUE(client->handshake());
  ASSERT_TRUE(tcp.server.shutdown_write());
  auto r = client->handshake();
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("closed the connection in the handshake"), std::string::npos)
      << r.error().message;
}

TEST_F(TlsTest, ServerContextErrorsNameTheFile) {
  auto missing = TlsContext::server(dir_.file("nope.pem"), dir_.file("key.pem"));
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("cannot load the TLS certificate"), std::string::npos);
  EXPECT_NE(missing.error().message.find("nope.pem"), std::string::npos);

  KeyAndCert other = make_cert("x", "DNS:x", -kDay, kDay, &ca_, false);
  testing::write_key(dir_.file("other-key.pem"), other.key.get());
  auto mismatch = TlsContext::server(dir_.file("cert.pem"), dir_.file("other-key.pem"));
  ASSERT_FALSE(mismatch);
  EXPECT_NE(mismatch.error().message.find("does not belong to the certificate"), std::string::npos)
      << mismatch.error().message;

  auto bad_ca = TlsContext::client({dir_.file("key.pem"), false});
  ASSERT_FALSE(bad_ca);
  EXPECT_NE(bad_ca.error().message.find("cannot load the CA file"), std::string::npos);
}

TEST(TlsCertificate, FormatsUtc) {
  EXPECT_EQ(format_utc(WallTime{1'700'000'000'000'000'000}), "2023-11-14 22:13:20 UTC");
}

}  // namespace
}  // namespace tern::io

// [Relay] and a peer's Relay key (docs/config.md): what is accepted, and that each mistake is
// named with its line and fix.
#include <gtest/gtest.h>

#include <string>

#include "config/config.hpp"

namespace tern::config {
namespace {

const std::string kInterface =
    "[Interface]\nPrivateKey = yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=\n";
const std::string kPeer =
    "[Peer]\nPublicKey = xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=\nEndpoint = "
    "203.0.113.2:51820\nAllowedIPs = 10.0.0.2/32\n";

Result<InterfaceConfig> parse(const std::string& text) {
  return parse_config(text, "wg0.conf");
}

TEST(RelayConfig, UrlAndStaticCredentials) {
  auto c = parse(kInterface +
                 "[Relay]\nUrl = turn:198.51.100.1:3479?transport=udp\nUsername = alice\n"
                 "Password = s3cret\n" +
                 kPeer + "Relay = on\n");
  ASSERT_TRUE(c) << c.error().message;
  ASSERT_TRUE(c->relay);
  EXPECT_EQ(c->relay->host, "198.51.100.1");
  EXPECT_EQ(c->relay->port, 3479);
  EXPECT_EQ(c->relay->username, "alice");
  EXPECT_EQ(c->relay->password, "s3cret");
  ASSERT_EQ(c->peers.size(), 1u);
  EXPECT_TRUE(c->peers[0].relay);
}

TEST(RelayConfig, TcpTransportIsAccepted) {
  for (const std::string url :
       {"turn:192.0.2.1?transport=tcp", "turn:192.0.2.1:443?Transport=TCP"}) {
    auto c =
        parse(kInterface + "[Relay]\nUrl = " + url + "\nSecret = abc\n" + kPeer + "Relay = on\n");
    ASSERT_TRUE(c) << url << ": " << c.error().message;
    EXPECT_EQ(c->relay->host, "192.0.2.1");
    EXPECT_EQ(c->relay->url, url);
  }
}

TEST(RelayConfig, SecretDefaultPortAndIpv6) {
  auto c = parse(kInterface + "[Relay]\nUrl = turn:[2001:db8::7]\nSecret = abc\n" + kPeer);
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->relay->host, "2001:db8::7");
  EXPECT_EQ(c->relay->port, 3478);
  EXPECT_EQ(c->relay->secret, "abc");
  EXPECT_FALSE(c->peers[0].relay);  // a peer without Relay stays direct
  auto named = parse(kInterface + "[Relay]\nUrl = turn:relay.example.org\nSecret = abc\n");
  ASSERT_TRUE(named) << named.error().message;
  EXPECT_EQ(named->relay->host, "relay.example.org");
}

TEST(RelayConfig, MistakesAreNamed) {
  struct Case {
    std::string text;
    std::string says;
  };
  const Case cases[] = {
      {kInterface + kPeer + "Relay = on\n", "no [Relay] section"},
      {kInterface + "[Relay]\nUsername = a\nPassword = b\n", "has no Url"},
      {kInterface + "[Relay]\nUrl = turn:192.0.2.1\n", "needs credentials"},
      {kInterface + "[Relay]\nUrl = turn:192.0.2.1\nUsername = a\n", "needs credentials"},
      {kInterface + "[Relay]\nUrl = turn:192.0.2.1\nSecret = a\nPassword = b\n", "both Secret"},
      {kInterface + "[Relay]\nUrl = http://192.0.2.1\nSecret = a\n", "is a TURN URL"},
      {kInterface + "[Relay]\nUrl = turns:192.0.2.1?transport=udp\nSecret = a\n", "DTLS"},
      {kInterface + "[Relay]\nUrl = turn:192.0.2.1?transport=sctp\nSecret = a\n", "transport=tcp"},
      {kInterface + "[Relay]\nUrl = turn:192.0.2.1:0\nSecret = a\n", "not 1-65535"},
      {kInterface + "[Relay]\nUrl = turn:192.0.2.1:99999\nSecret = a\n", "not 1-65535"},
      {kInterface + "[Relay]\nUrl = turn:[2001:db8::1\nSecret = a\n", "without ']'"},
      {kInterface + "[Relay]\nUrl = turn:\nSecret = a\n", "no host"},
      {kInterface + "[Relay]\nUrl = turn:192.0.2.1\nSecret = a\nRealm = x\n", "unknown key"},
      {kInterface + "[Relay]\nUrl = turn:192.0.2.1\nSecret = a\n[Relay]\n", "second [Relay]"},
      {kInterface + "[Relay]\nUrl = turn:192.0.2.1\nSecret = a\n" + kPeer + "Relay = maybe\n",
       "not on or off"},
      {kInterface + "[Relay]\nUrl = turn:192.0.2.1\nSecret = a\n" +
           "[Peer]\nPublicKey = xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=\nRelay = on\n",
       "no Endpoint"},
  };
  for (const auto& c : cases) {
    auto r = parse(c.text);
    ASSERT_FALSE(r) << c.text;
    EXPECT_NE(r.error().message.find(c.says), std::string::npos)
        << r.error().message << " (wanted: " << c.says << ")";
    EXPECT_EQ(r.error().message.rfind("wg0.conf:", 0), 0u) << r.error().message;
  }
}

}  // namespace
}  // namespace tern::config

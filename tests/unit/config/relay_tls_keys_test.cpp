// [Relay] over TLS (docs/config.md): Url = turns:HOST[:PORT][?transport=tcp] (RFC 7065, port
// 5349 by default) and CA; DTLS and a CA without TLS are refused with the fix.
#include <gtest/gtest.h>

#include <string>

#include "config/config.hpp"

namespace tern::config {
namespace {

const std::string kInterface =
    "[Interface]\nPrivateKey = yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=\n";

Result<InterfaceConfig> parse_relay(const std::string& relay_lines) {
  return parse_config(kInterface + "[Relay]\n" + relay_lines, "wg0.conf");
}

TEST(RelayTlsKeys, TurnsTakesPort5349ByDefault) {
  auto c = parse_relay("Url = turns:relay.example.org\nSecret = abc\n");
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_TRUE(c->relay->tls);
  EXPECT_EQ(c->relay->host, "relay.example.org");
  EXPECT_EQ(c->relay->port, 5349);
  EXPECT_EQ(c->relay->url, "turns:relay.example.org");
  EXPECT_TRUE(c->relay->ca_file.empty());
}

TEST(RelayTlsKeys, PortTransportTcpIpv6AndCa) {
  struct Case {
    std::string url;
    std::string host;
    uint16_t port;
  };
  for (const Case& k : {Case{"turns:relay.example.org:443?transport=tcp", "relay.example.org", 443},
                        Case{"turns:192.0.2.1:5350?Transport=TCP", "192.0.2.1", 5350},
                        Case{"turns:[2001:db8::7]", "2001:db8::7", 5349},
                        Case{"turns:[2001:db8::7]:8443", "2001:db8::7", 8443}}) {
    auto c =
        parse_relay("Url = " + k.url + "\nUsername = a\nPassword = b\nCA = /etc/tern/ca.pem\n");
    ASSERT_TRUE(c) << k.url << ": " << c.error().message;
    EXPECT_TRUE(c->relay->tls) << k.url;
    EXPECT_EQ(c->relay->host, k.host);
    EXPECT_EQ(c->relay->port, k.port);
    EXPECT_EQ(c->relay->ca_file, "/etc/tern/ca.pem");
  }
}

TEST(RelayTlsKeys, PlainTurnIsNotTls) {
  for (const std::string url : {"turn:192.0.2.1", "turn:192.0.2.1?transport=tcp"}) {
    auto c = parse_relay("Url = " + url + "\nSecret = abc\n");
    ASSERT_TRUE(c) << c.error().message;
    EXPECT_FALSE(c->relay->tls) << url;
    EXPECT_EQ(c->relay->port, 3478) << url;
  }
}

TEST(RelayTlsKeys, BadCombinationsNameTheFix) {
  struct Case {
    std::string lines;
    std::vector<std::string> says;
  };
  const Case cases[] = {
      {"Url = turns:192.0.2.1?transport=udp\nSecret = a\n",
       {"DTLS", "turns:192.0.2.1 (TLS over TCP)", "turn:192.0.2.1?transport=udp"}},
      {"Url = turns:r.example.org:5349?transport=UDP\nSecret = a\n", {"DTLS"}},
      {"Url = turn:192.0.2.1\nSecret = a\nCA = /ca.pem\n", {"CA is for TLS", "turns:192.0.2.1"}},
      {"Url = turn:192.0.2.1?transport=tcp\nSecret = a\nCA = /ca.pem\n", {"CA is for TLS"}},
      {"Url = turns:192.0.2.1\nSecret = a\nCA =\n", {"CA has no value"}},
      {"Url = turns:192.0.2.1?transport=sctp\nSecret = a\n", {"transport=tcp"}},
      {"Url = turns:\nSecret = a\n", {"no host"}},
      {"Url = turns:192.0.2.1:0\nSecret = a\n", {"not 1-65535"}},
      {"Url = turns:192.0.2.1\n", {"needs credentials"}},
      {"Url = turnss:192.0.2.1\nSecret = a\n", {"is a TURN URL"}},
  };
  for (const auto& c : cases) {
    auto r = parse_relay(c.lines);
    ASSERT_FALSE(r) << c.lines;
    for (const auto& s : c.says) {
      EXPECT_NE(r.error().message.find(s), std::string::npos)
          << r.error().message << " (wanted: " << s << ")";
    }
    EXPECT_EQ(r.error().message.rfind("wg0.conf:", 0), 0u) << r.error().message;
  }
}

}  // namespace
}  // namespace tern::config

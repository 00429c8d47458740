#include "doctor/turn_url.hpp"

#include <gtest/gtest.h>

namespace tern::doctor {
namespace {

TEST(TurnUrl, DefaultsPerScheme) {
  auto u = parse_turn_url("turn:relay.example.com");
  ASSERT_TRUE(u) << u.error().message;
  EXPECT_EQ(u->host, "relay.example.com");
  EXPECT_EQ(u->port, 3478);
  EXPECT_EQ(u->transport, UrlTransport::kUdp);
  EXPECT_EQ(u->to_string(), "turn:relay.example.com:3478?transport=udp");

  auto s = parse_turn_url("turns:relay.example.com");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->port, 5349);
  EXPECT_EQ(s->transport, UrlTransport::kTls);

  auto st = parse_turn_url("STUN:192.0.2.1:3479");
  ASSERT_TRUE(st);
  EXPECT_EQ(st->scheme, UrlScheme::kStun);
  EXPECT_EQ(st->port, 3479);
  EXPECT_EQ(st->to_string(), "stun:192.0.2.1:3479");
}

TEST(TurnUrl, TransportAndIpv6) {
  auto t = parse_turn_url("turn:[2001:db8::1]:3480?transport=tcp");
  ASSERT_TRUE(t) << t.error().message;
  EXPECT_EQ(t->host, "2001:db8::1");
  EXPECT_EQ(t->port, 3480);
  EXPECT_EQ(t->transport, UrlTransport::kTcp);
  EXPECT_EQ(t->server(), "[2001:db8::1]:3480");
  auto d = parse_turn_url("turns:192.0.2.1?transport=udp");
  ASSERT_TRUE(d);
  EXPECT_EQ(d->transport, UrlTransport::kDtls);
  auto u = parse_turn_url("turn:192.0.2.1?Transport=UDP");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->transport, UrlTransport::kUdp);
  EXPECT_TRUE(u->transport_given);
}

TEST(TurnUrl, RejectsWithAReason) {
  for (const char* bad :
       {"relay.example.com", "http://x", "turn://x:3478", "turn:", "turn::3478", "turn:x:0",
        "turn:x:65536", "turn:x:12ab", "turn:2001:db8::1", "turn:[2001:db8::1", "turn:[x]:1",
        "turn:x?transport=sctp", "turn:x?foo=bar", "stun:x?transport=udp", "turn:x y",
        "turn:x:", "turn:[192.0.2.1]"}) {
    auto u = parse_turn_url(bad);
    EXPECT_FALSE(u) << bad;
    if (!u) {
      EXPECT_FALSE(u.error().message.empty());
    }
  }
}

TEST(TurnUrl, CanonicalFormParsesBackToItself) {
  for (const char* text : {"turn:a.example:1?transport=tcp", "turns:[2001:db8::2]",
                           "stuns:b.example", "turn:192.0.2.7:65535"}) {
    auto u = parse_turn_url(text);
    ASSERT_TRUE(u) << text;
    auto again = parse_turn_url(u->to_string());
    ASSERT_TRUE(again) << u->to_string();
    EXPECT_EQ(again->to_string(), u->to_string());
    EXPECT_EQ(again->transport, u->transport);
  }
}

}  // namespace
}  // namespace tern::doctor

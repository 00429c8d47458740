// The peer address policy: every refused class at its edges, the IPv4-in-IPv6
// forms, the allow- and deny-lists, a comparison with a slow reference (prefix
// tables through IpPrefix::contains) on random addresses, and the server's
// answers: 403 on CreatePermission and ChannelBind, a drop on Send.
#include "relay/peer_policy.hpp"

#include <random>

#include "relay_test_util.hpp"

namespace tern::relay::test {
namespace {

struct Case {
  const char* address;
  std::optional<PeerClass> expected;
};

TEST(PeerPolicy, ClassesAtTheirEdges) {
  const Case cases[] = {
      {"0.0.0.0", PeerClass::kUnspecified},
      {"0.255.255.255", PeerClass::kUnspecified},
      {"1.0.0.0", std::nullopt},
      {"::", PeerClass::kUnspecified},
      {"127.0.0.1", PeerClass::kLoopback},
      {"127.255.255.255", PeerClass::kLoopback},
      {"126.255.255.255", std::nullopt},
      {"128.0.0.0", std::nullopt},
      {"::1", PeerClass::kLoopback},
      {"::2", PeerClass::kUnspecified},  // IPv4-compatible 0.0.0.2
      {"10.0.0.0", PeerClass::kPrivate},
      {"10.255.255.255", PeerClass::kPrivate},
      {"9.255.255.255", std::nullopt},
      {"11.0.0.0", std::nullopt},
      {"172.16.0.0", PeerClass::kPrivate},
      {"172.31.255.255", PeerClass::kPrivate},
      {"172.15.255.255", std::nullopt},
      {"172.32.0.0", std::nullopt},
      {"192.168.0.0", PeerClass::kPrivate},
      {"192.168.255.255", PeerClass::kPrivate},
      {"192.167.255.255", std::nullopt},
      {"192.169.0.0", std::nullopt},
      {"fc00::", PeerClass::kPrivate},
      {"fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", PeerClass::kPrivate},
      {"fbff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", std::nullopt},
      {"fec0::1", PeerClass::kPrivate},
      {"64:ff9b:1::a00:1", PeerClass::kPrivate},
      {"169.254.0.0", PeerClass::kLinkLocal},
      {"169.254.169.254", PeerClass::kLinkLocal},
      {"169.255.0.0", std::nullopt},
      {"169.253.255.255", std::nullopt},
      {"fe80::1", PeerClass::kLinkLocal},
      {"febf:ffff::1", PeerClass::kLinkLocal},
      {"fe7f:ffff::1", std::nullopt},
      {"100.64.0.0", PeerClass::kCgnat},
      {"100.127.255.255", PeerClass::kCgnat},
      {"100.63.255.255", std::nullopt},
      {"100.128.0.0", std::nullopt},
      {"224.0.0.0", PeerClass::kMulticast},
      {"239.255.255.255", PeerClass::kMulticast},
      {"223.255.255.255", std::nullopt},
      {"ff02::1", PeerClass::kMulticast},
      {"255.255.255.255", PeerClass::kBroadcast},
      {"255.255.255.254", std::nullopt},
      {"8.8.8.8", std::nullopt},
      {"192.0.2.1", std::nullopt},
      {"2001:db8::1", std::nullopt},
      {"2606:4700::1111", std::nullopt},
      // IPv4 inside IPv6: judged by the IPv4 address.
      {"::ffff:127.0.0.1", PeerClass::kLoopback},
      {"::ffff:10.1.2.3", PeerClass::kPrivate},
      {"::ffff:169.254.169.254", PeerClass::kLinkLocal},
      {"::ffff:0.0.0.0", PeerClass::kUnspecified},
      {"::ffff:8.8.8.8", std::nullopt},
      {"64:ff9b::192.168.1.1", PeerClass::kPrivate},
      {"64:ff9b::8.8.8.8", std::nullopt},
      {"::127.0.0.1", PeerClass::kLoopback},
      {"::100.64.0.1", PeerClass::kCgnat},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(special_address_class(ip(c.address)), c.expected) << c.address;
  }
}

TEST(PeerPolicy, EmbeddedIpv4) {
  EXPECT_EQ(embedded_ipv4(ip("::ffff:1.2.3.4")), ip("1.2.3.4"));
  EXPECT_EQ(embedded_ipv4(ip("64:ff9b::1.2.3.4")), ip("1.2.3.4"));
  EXPECT_EQ(embedded_ipv4(ip("::1.2.3.4")), ip("1.2.3.4"));
  EXPECT_FALSE(embedded_ipv4(ip("::")));
  EXPECT_FALSE(embedded_ipv4(ip("::1")));
  EXPECT_FALSE(embedded_ipv4(ip("1.2.3.4")));
  EXPECT_FALSE(embedded_ipv4(ip("2001:db8::1.2.3.4")));
  EXPECT_FALSE(embedded_ipv4(ip("::fffe:1.2.3.4")));
}

TEST(PeerPolicy, AllowListWinsAndDenyListAdds) {
  PeerPolicy p({*IpPrefix::parse("10.1.0.0/16"), *IpPrefix::parse("fd00:1::/32")},
               {*IpPrefix::parse("192.0.2.0/24")});
  EXPECT_FALSE(p.refusal(ip("10.1.2.3")));
  EXPECT_FALSE(p.refusal(ip("::ffff:10.1.2.3")));  // the same host, written as IPv6
  EXPECT_FALSE(p.refusal(ip("fd00:1::5")));
  EXPECT_EQ(p.refusal(ip("10.2.0.1")), PeerClass::kPrivate);
  EXPECT_EQ(p.refusal(ip("fd00:2::5")), PeerClass::kPrivate);
  EXPECT_EQ(p.refusal(ip("192.0.2.9")), PeerClass::kDenied);
  EXPECT_EQ(p.refusal(ip("::ffff:192.0.2.9")), PeerClass::kDenied);
  EXPECT_FALSE(p.refusal(ip("198.51.100.1")));
  // Allowing everything turns the policy off.
  PeerPolicy open({*IpPrefix::parse("0.0.0.0/0"), *IpPrefix::parse("::/0")}, {});
  EXPECT_FALSE(open.refusal(ip("127.0.0.1")));
  EXPECT_FALSE(open.refusal(ip("::1")));
}

// The reference: the same classes as prefix tables, matched with IpPrefix::contains.
std::optional<PeerClass> reference_class(const IpAddress& a) {
  static const std::vector<std::pair<const char*, PeerClass>> v4 = {
      {"0.0.0.0/8", PeerClass::kUnspecified},        {"127.0.0.0/8", PeerClass::kLoopback},
      {"10.0.0.0/8", PeerClass::kPrivate},           {"172.16.0.0/12", PeerClass::kPrivate},
      {"192.168.0.0/16", PeerClass::kPrivate},       {"169.254.0.0/16", PeerClass::kLinkLocal},
      {"100.64.0.0/10", PeerClass::kCgnat},          {"224.0.0.0/4", PeerClass::kMulticast},
      {"255.255.255.255/32", PeerClass::kBroadcast},
  };
  static const std::vector<std::pair<const char*, PeerClass>> v6 = {
      {"::/128", PeerClass::kUnspecified},     {"::1/128", PeerClass::kLoopback},
      {"fc00::/7", PeerClass::kPrivate},       {"fec0::/10", PeerClass::kPrivate},
      {"64:ff9b:1::/48", PeerClass::kPrivate}, {"fe80::/10", PeerClass::kLinkLocal},
      {"ff00::/8", PeerClass::kMulticast},
  };
  const auto lookup = [](const auto& table, const IpAddress& x) -> std::optional<PeerClass> {
    for (const auto& [text, cls] : table) {
      if (IpPrefix::parse(text)->contains(x)) return cls;
    }
    return std::nullopt;
  };
  if (a.is_v4()) return lookup(v4, a);
  if (auto c = lookup(v6, a); c && (a == ip("::") || a == ip("::1"))) return c;
  for (const char* embedding : {"::ffff:0:0/96", "64:ff9b::/96", "::/96"}) {
    if (IpPrefix::parse(embedding)->contains(a)) {
      return lookup(v4, IpAddress::v4({a.data()[12], a.data()[13], a.data()[14], a.data()[15]}));
    }
  }
  return lookup(v6, a);
}

TEST(PeerPolicy, MatchesTheReferenceOnRandomAddresses) {
  std::mt19937_64 rng(20260101);
  // Random addresses are almost all ordinary; bias them towards the interesting prefixes.
  const uint8_t v4_firsts[] = {0, 10, 100, 127, 169, 172, 192, 224, 239, 240, 255, 8};
  const std::array<uint8_t, 4> v6_heads[] = {
      {0, 0, 0, 0},       {0, 0x64, 0xff, 0x9b}, {0xfc, 0, 0, 0},    {0xfd, 0x12, 0, 0},
      {0xfe, 0x80, 0, 0}, {0xfe, 0xc0, 0, 0},    {0xff, 0x02, 0, 0}, {0x20, 0x01, 0x0d, 0xb8}};
  for (int i = 0; i < 50000; ++i) {
    const uint64_t r = rng();
    IpAddress a;
    if (r & 1) {
      std::array<uint8_t, 4> b{};
      for (auto& x : b)
        x = static_cast<uint8_t>(rng());
      if (r & 2) b[0] = v4_firsts[(r >> 8) % std::size(v4_firsts)];
      if ((r & 12) == 12) b[1] = static_cast<uint8_t>(b[1] & 0xC0 ? b[1] : 64 + (b[1] & 63));
      if ((r & 0x70) == 0x70) b = {255, 255, 255, 255};
      a = IpAddress::v4(b);
    } else {
      std::array<uint8_t, 16> b{};
      for (auto& x : b)
        x = static_cast<uint8_t>(rng());
      if (r & 2) {
        const auto& head = v6_heads[(r >> 8) % std::size(v6_heads)];
        std::copy(head.begin(), head.end(), b.begin());
        const int zeros = (r >> 16) % 4;
        if (zeros >= 1) std::fill(b.begin() + 4, b.begin() + 10, 0);
        if (zeros >= 2) b[10] = b[11] = 0xff;
        if (zeros == 3) b[10] = b[11] = 0;
        if ((r >> 20) % 8 == 0) std::fill(b.begin() + 4, b.begin() + 15, 0);
        if ((r >> 24) % 4 == 0) b[4] = 0, b[5] = 1;
      }
      a = IpAddress::v6(b);
    }
    ASSERT_EQ(special_address_class(a), reference_class(a)) << a.to_string();
  }
}

TEST(PeerPolicy, ServerRefusesEachClass) {
  Fixture f;
  auto c = f.client();
  const auto relayed = c.allocate(at(0));
  const char* refused[] = {"0.0.0.0:80",         "127.0.0.1:22",     "10.0.0.5:80",
                           "172.20.1.1:80",      "192.168.1.1:80",   "169.254.169.254:80",
                           "100.100.100.100:53", "224.0.0.251:5353", "255.255.255.255:67"};
  uint64_t n = 0;
  for (const char* peer : refused) {
    auto out = c.create_permission({ep(peer)}, at(1));
    ASSERT_TRUE(out);
    EXPECT_EQ(out->code(), 403) << peer;
    EXPECT_EQ(c.check(*out), wire::StunCheck::kValid);
    EXPECT_EQ(c.channel_bind(0x4000, ep(peer), at(1))->code(), 403) << peer;
    EXPECT_FALSE(c.send_indication(ep(peer), bytes_of("x"), at(1))) << peer;
    n += 3;
    EXPECT_EQ(f.drops(RelayDrop::kForbiddenPeer), n) << peer;
    EXPECT_FALSE(from_peer(*f.server, relayed, ep(peer), bytes_of("x"), at(1)));
  }
  auto out = c.create_permission({ep("127.0.0.1:22")}, at(1));
  EXPECT_NE(out->reason().find("loopback"), std::string::npos) << out->reason();
  EXPECT_EQ(f.server->allocation(c.tuple(), at(1))->permissions, 0u);
}

TEST(PeerPolicy, ServerRefusesIpv6ClassesAndMappedForms) {
  Fixture f;
  auto c = f.client();
  c.allocate(at(0), [](StunBuilder& b) { b.add_address_family(IpAddress::Family::kV6); });
  for (const char* peer :
       {"[::]:1", "[::1]:1", "[fd00::1]:1", "[fe80::1]:1", "[ff02::1]:1", "[::ffff:127.0.0.1]:1",
        "[::ffff:10.0.0.1]:1", "[64:ff9b::a9fe:a9fe]:1"}) {
    EXPECT_EQ(c.create_permission({ep(peer)}, at(1))->code(), 403) << peer;
  }
  EXPECT_TRUE(c.create_permission({ep("[2001:db8::2]:1")}, at(1))->is_success());
}

TEST(PeerPolicy, ServerAllowListPermitsChosenPrefixes) {
  auto config = test_config();
  config.allowed_peers = {*IpPrefix::parse("10.9.0.0/16")};
  config.denied_peers = {*IpPrefix::parse("198.51.100.0/24")};
  Fixture f(config);
  auto c = f.client();
  const auto relayed = c.allocate(at(0));
  ASSERT_TRUE(c.create_permission({ep("10.9.1.1:80")}, at(1))->is_success());
  EXPECT_TRUE(c.send_indication(ep("10.9.1.1:80"), bytes_of("x"), at(2)));
  EXPECT_TRUE(from_peer(*f.server, relayed, ep("10.9.1.1:80"), bytes_of("y"), at(2)));
  EXPECT_EQ(c.create_permission({ep("10.8.1.1:80")}, at(1))->code(), 403);
  auto out = c.create_permission({ep("198.51.100.9:80")}, at(1));
  EXPECT_EQ(out->code(), 403);
  EXPECT_NE(out->reason().find("denied"), std::string::npos);
}

}  // namespace
}  // namespace tern::relay::test

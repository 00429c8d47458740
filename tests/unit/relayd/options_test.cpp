#include "relayd/options.hpp"

#include <gtest/gtest.h>

namespace tern::relayd {
namespace {

RawOptions base_options() {
  RawOptions raw;
  raw.listen = {"192.0.2.1"};
  raw.users = {"alice:s3cret"};
  return raw;
}

TEST(RelaydOptions, ListenAddressForms) {
  EXPECT_EQ(parse_listen("192.0.2.1", 3478)->to_string(), "192.0.2.1:3478");
  EXPECT_EQ(parse_listen("192.0.2.1:5000", 3478)->to_string(), "192.0.2.1:5000");
  EXPECT_EQ(parse_listen("2001:db8::1", 3478)->to_string(), "[2001:db8::1]:3478");
  EXPECT_EQ(parse_listen("[2001:db8::1]", 3478)->to_string(), "[2001:db8::1]:3478");
  EXPECT_EQ(parse_listen("[2001:db8::1]:9", 3478)->to_string(), "[2001:db8::1]:9");
  EXPECT_FALSE(parse_listen("192.0.2.1:0", 3478));
  EXPECT_FALSE(parse_listen("example.org", 3478));
  EXPECT_FALSE(parse_listen("", 3478));
}

TEST(RelaydOptions, UsersRatesDurationsRanges) {
  auto u = parse_user("bob:pa:ss");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->name, "bob");
  EXPECT_EQ(u->password, "pa:ss");
  EXPECT_FALSE(parse_user("bob"));
  EXPECT_FALSE(parse_user(":pw"));
  EXPECT_FALSE(parse_user("bob:"));

  EXPECT_EQ(parse_rate("125000"), 125000u);
  EXPECT_EQ(parse_rate("500k"), 500000u);
  EXPECT_EQ(parse_rate("1.5M/s"), 1500000u);
  EXPECT_EQ(parse_rate("2G"), 2000000000u);
  EXPECT_EQ(parse_rate("0"), 0u);
  EXPECT_FALSE(parse_rate("-1"));
  EXPECT_FALSE(parse_rate("M"));
  EXPECT_FALSE(parse_rate("1x"));
  EXPECT_FALSE(parse_rate("nan"));
  EXPECT_FALSE(parse_rate("1e30"));

  EXPECT_EQ(parse_seconds("3600"), 3600u);
  EXPECT_EQ(parse_seconds("90s"), 90u);
  EXPECT_EQ(parse_seconds("30m"), 1800u);
  EXPECT_EQ(parse_seconds("2h"), 7200u);
  EXPECT_FALSE(parse_seconds("h"));
  EXPECT_FALSE(parse_seconds("1d"));

  auto r = parse_port_range("49152-65535");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->first, 49152);
  EXPECT_EQ(r->second, 65535);
  EXPECT_FALSE(parse_port_range("2000-1000"));
  EXPECT_FALSE(parse_port_range("0-10"));
  EXPECT_FALSE(parse_port_range("1000"));
  EXPECT_FALSE(parse_port_range("1-70000"));
}

TEST(RelaydOptions, DefaultsFollowTheListenAddress) {
  auto c = make_config(base_options());
  ASSERT_TRUE(c) << c.error().message;
  ASSERT_EQ(c->listen.size(), 1u);
  EXPECT_EQ(c->listen[0].to_string(), "192.0.2.1:3478");
  ASSERT_EQ(c->relay_addresses.size(), 1u);
  EXPECT_EQ(c->relay_addresses[0].to_string(), "192.0.2.1");
  EXPECT_TRUE(c->relay.relay_ipv4);
  EXPECT_FALSE(c->relay.relay_ipv6);
  EXPECT_EQ(c->port_min, kDefaultRelayPortMin);
  EXPECT_EQ(c->port_max, kDefaultRelayPortMax);
  EXPECT_FALSE(c->relay.discovery);
  EXPECT_FALSE(c->metrics);
  // Its own address stays a permitted peer: two clients of one relay reach each
  // other through their relayed addresses.
  EXPECT_TRUE(c->relay.denied_peers.empty());
}

TEST(RelaydOptions, EverySettingReachesTheCore) {
  RawOptions raw = base_options();
  raw.relay_address = {"203.0.113.1", "2001:db8::1"};
  raw.realm = "example.org";
  raw.secrets = {"one", "two"};
  raw.allow = {"10.9.1.0/16"};
  raw.deny = {"198.51.100.0/24"};
  raw.max_lifetime = "2h";
  raw.user_quota = 3;
  raw.total_quota = 100;
  raw.rate = "1M";
  raw.port_range = "50000-50100";
  raw.metrics = "127.0.0.1:9641";
  auto c = make_config(raw);
  ASSERT_TRUE(c) << c.error().message;
  const auto& r = c->relay;
  EXPECT_EQ(r.realm, "example.org");
  ASSERT_EQ(r.users.size(), 1u);
  EXPECT_EQ(r.users[0].name, "alice");
  EXPECT_EQ(r.shared_secrets, (std::vector<std::string>{"one", "two"}));
  ASSERT_EQ(r.allowed_peers.size(), 1u);
  EXPECT_EQ(r.allowed_peers[0].to_string(), "10.9.0.0/16");  // masked
  EXPECT_EQ(r.denied_peers[0].to_string(), "198.51.100.0/24");
  EXPECT_EQ(r.max_lifetime, std::chrono::seconds(7200));
  EXPECT_EQ(r.user_quota, 3u);
  EXPECT_EQ(r.max_allocations, 100u);
  EXPECT_EQ(r.rate_limit.bytes_per_second, 1000000u);
  EXPECT_TRUE(r.relay_ipv4);
  EXPECT_TRUE(r.relay_ipv6);
  EXPECT_EQ(c->port_min, 50000);
  EXPECT_EQ(c->port_max, 50100);
  ASSERT_TRUE(c->metrics);
  EXPECT_EQ(c->metrics->to_string(), "127.0.0.1:9641");
}

TEST(RelaydOptions, OtherAddressListensOnFourSockets) {
  RawOptions raw = base_options();
  raw.other_address = "192.0.2.2";
  auto c = make_config(raw);
  ASSERT_TRUE(c) << c.error().message;
  ASSERT_TRUE(c->relay.discovery);
  EXPECT_EQ(c->relay.discovery->primary.to_string(), "192.0.2.1:3478");
  EXPECT_EQ(c->relay.discovery->alternate.to_string(), "192.0.2.2:3479");
  std::vector<std::string> listen;
  for (const auto& l : c->listen)
    listen.push_back(l.to_string());
  EXPECT_EQ(listen, (std::vector<std::string>{"192.0.2.1:3478", "192.0.2.1:3479", "192.0.2.2:3478",
                                              "192.0.2.2:3479"}));
}

TEST(RelaydOptions, TcpByDefaultAndTlsWithACertificate) {
  RawOptions raw = base_options();
  raw.listen = {"192.0.2.1", "[2001:db8::1]:3000"};
  auto c = make_config(raw);
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->tcp_listen, c->listen);
  EXPECT_TRUE(c->tls_listen.empty());
  EXPECT_EQ(c->max_connections, kDefaultMaxConnections);

  raw.tls_cert = "relay.crt";
  raw.tls_key = "relay.key";
  raw.max_connections = 10;
  c = make_config(raw);
  ASSERT_TRUE(c) << c.error().message;
  ASSERT_EQ(c->tls_listen.size(), 2u);
  EXPECT_EQ(c->tls_listen[0].to_string(), "192.0.2.1:5349");
  EXPECT_EQ(c->tls_listen[1].to_string(), "[2001:db8::1]:5349");
  EXPECT_EQ(c->tls_cert, "relay.crt");
  EXPECT_EQ(c->max_connections, 10u);

  raw.no_tcp = true;
  raw.tls_port = 443;
  c = make_config(raw);
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_TRUE(c->tcp_listen.empty());
  EXPECT_EQ(c->tls_listen[0].to_string(), "192.0.2.1:443");

  // With RFC 5780's four UDP sockets, TCP listens on the given address only.
  raw = base_options();
  raw.other_address = "192.0.2.2";
  c = make_config(raw);
  ASSERT_TRUE(c) << c.error().message;
  ASSERT_EQ(c->tcp_listen.size(), 1u);
  EXPECT_EQ(c->tcp_listen[0].to_string(), "192.0.2.1:3478");
}

// Each bad option is refused with a message that names it.
TEST(RelaydOptions, ErrorsNameTheOption) {
  struct Case {
    void (*edit)(RawOptions&);
    const char* names;
  };
  const Case cases[] = {
      {[](RawOptions& r) { r.listen = {"nowhere"}; }, "--listen nowhere"},
      {[](RawOptions& r) { r.threads = 0; }, "--threads 0"},
      {[](RawOptions& r) { r.threads = 257; }, "--threads 257"},
      {[](RawOptions& r) { r.listen = {"0.0.0.0"}; }, "--relay-address"},
      {[](RawOptions& r) { r.relay_address = {"0.0.0.0"}; }, "--relay-address 0.0.0.0"},
      {[](RawOptions& r) {
         r.relay_address = {"192.0.2.7", "192.0.2.8"};
       },
       "same family"},
      {[](RawOptions& r) { r.other_address = "bogus"; }, "--other-address bogus"},
      {[](RawOptions& r) { r.other_address = "192.0.2.1"; }, "--other-address"},
      {[](RawOptions& r) { r.other_address = "2001:db8::2"; }, "same family"},
      {[](RawOptions& r) { r.users = {"alice"}; }, "--user"},
      {[](RawOptions& r) { r.users.clear(); }, "--secret"},
      {[](RawOptions& r) { r.secrets = {""}; }, "--secret"},
      {[](RawOptions& r) { r.realm.clear(); }, "--realm"},
      {[](RawOptions& r) { r.allow = {"10.0.0.0/33"}; }, "--allow 10.0.0.0/33"},
      {[](RawOptions& r) { r.deny = {"x"}; }, "--deny x"},
      {[](RawOptions& r) { r.max_lifetime = "60"; }, "--max-lifetime 60"},
      {[](RawOptions& r) { r.total_quota = 0; }, "--total-quota"},
      {[](RawOptions& r) { r.rate = "fast"; }, "--rate fast"},
      {[](RawOptions& r) { r.port_range = "9-1"; }, "--port-range 9-1"},
      {[](RawOptions& r) { r.metrics = "127.0.0.1"; }, "--metrics 127.0.0.1"},
      {[](RawOptions& r) { r.tls_cert = "relay.crt"; }, "--tls-cert without --tls-key"},
      {[](RawOptions& r) { r.tls_key = "relay.key"; }, "--tls-key without --tls-cert"},
      {[](RawOptions& r) { r.tls_port = 5349; }, "--tls-port without --tls-cert"},
      {[](RawOptions& r) {
         r.tls_cert = "c";
         r.tls_key = "k";
         r.tls_port = 3478;
       },
       "--tls-port 3478"},
      {[](RawOptions& r) { r.max_connections = 0; }, "--max-connections 0"},
  };
  for (const auto& k : cases) {
    RawOptions raw = base_options();
    k.edit(raw);
    auto c = make_config(raw);
    ASSERT_FALSE(c) << k.names;
    EXPECT_NE(c.error().message.find(k.names), std::string::npos)
        << "message: " << c.error().message << " (want " << k.names << ")";
  }
}

TEST(RelaydOptions, PasswordsStayOutOfErrors) {
  RawOptions raw = base_options();
  raw.users = {"nocolon-secretword"};
  raw.listen = {"192.0.2.1"};
  auto c = make_config(raw);
  ASSERT_FALSE(c);
  // Without a colon there is no name to show; the text is cut at nothing, so it is
  // named but a password after a colon never is.
  raw.users = {"alice:"};
  c = make_config(raw);
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().message.find("alice"), std::string::npos);
}

}  // namespace
}  // namespace tern::relayd

#include "doctor/coturn_config.hpp"

#include <gtest/gtest.h>

#include "doctor/coturn_config_lint.hpp"

namespace tern::doctor {
namespace {

constexpr int64_t kNow = 1'800'000'000;

CoturnConfig parse(std::string_view text) {
  auto c = parse_coturn_config(text);
  EXPECT_TRUE(c.has_value()) << c.error().message;
  return c ? *c : CoturnConfig{};
}

std::vector<std::string> codes(const std::vector<RelayFinding>& f) {
  std::vector<std::string> out;
  for (const auto& x : f)
    out.push_back(x.code);
  return out;
}
using Codes = std::vector<std::string>;

TEST(CoturnConfig, ReadsTheFormsCoturnAccepts) {
  const auto c = parse(
      "# turnserver.conf\n"
      "listening-ip=10.1.0.2\n"
      "  --relay-ip 10.1.0.2   # the same\n"
      "Realm = \"tern.test\"\n"
      "lt-cred-mech\n"
      "\n"
      "denied-peer-ip=10.0.0.0-10.255.255.255\n"
      "denied-peer-ip=192.168.0.0/16\n"
      "min-port=49152\r\n");
  ASSERT_EQ(c.options.size(), 7u);
  EXPECT_EQ(c.value("listening-ip"), "10.1.0.2");
  EXPECT_EQ(c.value("relay-ip"), "10.1.0.2");
  EXPECT_EQ(c.value("realm"), "tern.test");
  EXPECT_TRUE(c.has("lt-cred-mech"));
  EXPECT_EQ(c.value("lt-cred-mech"), "");
  EXPECT_EQ(c.values("denied-peer-ip").size(), 2u);
  EXPECT_EQ(c.value("min-port"), "49152");
  EXPECT_EQ(c.options[1].line, 3u);
  EXPECT_FALSE(c.value("external-ip"));
}

TEST(CoturnConfig, RefusesWhatIsNotAConfig) {
  EXPECT_FALSE(parse_coturn_config(std::string_view("realm=x\0y", 9)));
  EXPECT_FALSE(parse_coturn_config(std::string(kCoturnConfigMaxBytes + 1, '#')));
  std::string many;
  for (size_t i = 0; i <= kCoturnConfigMaxOptions; ++i)
    many += "fingerprint\n";
  EXPECT_FALSE(parse_coturn_config(many));
  EXPECT_TRUE(parse_coturn_config(""));
}

TEST(CoturnConfig, AddressRanges) {
  auto r = parse_address_range("10.0.0.0-10.255.255.255");
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->contains(*IpAddress::parse("10.20.30.40")));
  EXPECT_FALSE(r->contains(*IpAddress::parse("11.0.0.0")));
  EXPECT_FALSE(r->contains(*IpAddress::parse("::1")));
  auto p = parse_address_range("172.16.0.0/12");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->to_string(), "172.16.0.0-172.31.255.255");
  auto one = parse_address_range("198.51.100.7");
  ASSERT_TRUE(one);
  EXPECT_TRUE(one->contains(*IpAddress::parse("198.51.100.7")));
  EXPECT_FALSE(one->contains(*IpAddress::parse("198.51.100.8")));
  auto v6 = parse_address_range("fc00::/7");
  ASSERT_TRUE(v6);
  EXPECT_TRUE(v6->contains(*IpAddress::parse("fd00::1")));
  EXPECT_FALSE(parse_address_range("10.0.0.9-10.0.0.1"));
  EXPECT_FALSE(parse_address_range("10.0.0.1-::1"));
  EXPECT_FALSE(parse_address_range("nonsense"));
}

// A complete, healthy deployment: nothing to say.
constexpr std::string_view kGood =
    "listening-ip=10.1.0.2\n"
    "relay-ip=10.1.0.2\n"
    "external-ip=192.0.2.2/10.1.0.2\n"
    "min-port=49152\nmax-port=49352\n"
    "realm=tern.test\n"
    "use-auth-secret\nstatic-auth-secret=s3cret\n"
    "cert=/etc/coturn/fullchain.pem\n"
    "denied-peer-ip=10.0.0.0-10.255.255.255\n";

CoturnLintInput good_input() {
  CoturnLintInput in;
  in.secret = "s3cret";
  in.peers = {*IpAddress::parse("198.51.100.2")};
  in.firewall = std::vector<FirewallDrop>{{3000, 3100, "inet filter input: udp dport 3000-3100"}};
  in.certificate =
      CertificateFile{"/etc/coturn/fullchain.pem", "", kNow - 86400, kNow + 60 * 86400};
  in.now_unix = kNow;
  return in;
}

TEST(CoturnLint, HealthyConfigHasNoFinding) {
  EXPECT_EQ(codes(lint_coturn_config(parse(kGood), good_input())), Codes{});
}

TEST(CoturnLint, PrivateListeningAddressWithoutExternalIp) {
  const auto f = lint_coturn_config(parse("listening-ip=10.1.0.2\nrealm=r\n"), {});
  EXPECT_EQ(codes(f), Codes{"coturn_external_ip_missing"});
  EXPECT_NE(f[0].message.find("listening-ip=10.1.0.2"), std::string::npos);
  // A public listening address needs none.
  EXPECT_EQ(codes(lint_coturn_config(parse("listening-ip=192.0.2.2\n"), {})), Codes{});
  EXPECT_EQ(codes(lint_coturn_config(parse("external-ip=10.9.9.9/10.1.0.2\n"), {})),
            Codes{"coturn_external_ip_private"});
  EXPECT_EQ(codes(lint_coturn_config(parse("external-ip=nonsense\n"), {})),
            Codes{"coturn_external_ip_invalid"});
}

TEST(CoturnLint, RelayPortsAgainstTheFirewall) {
  auto in = good_input();
  in.firewall = std::vector<FirewallDrop>{{49000, 49200, "inet filter input (handle 4)"}};
  const auto f = lint_coturn_config(parse(kGood), in);
  EXPECT_EQ(codes(f), Codes{"coturn_ports_firewalled"});
  EXPECT_NE(f[0].message.find("part of the relay port range 49152-49352"), std::string::npos)
      << f[0].message;
  EXPECT_NE(f[0].message.find("handle 4"), std::string::npos);
  // Defaults: 49152-65535.
  in.firewall = std::vector<FirewallDrop>{{60000, 60000, "r"}};
  in.secret.reset();
  EXPECT_EQ(codes(lint_coturn_config(parse("realm=r\n"), in)), Codes{"coturn_ports_firewalled"});
  EXPECT_EQ(codes(lint_coturn_config(parse("min-port=50000\nmax-port=40000\n"), {})),
            Codes{"coturn_port_range_invalid"});
  EXPECT_EQ(codes(lint_coturn_config(parse("min-port=seventy\n"), {})),
            Codes{"coturn_port_range_invalid"});
}

TEST(CoturnLint, RealmAndSecret) {
  EXPECT_EQ(codes(lint_coturn_config(parse("lt-cred-mech\nuser=a:b\n"), {})),
            Codes{"coturn_realm_missing"});
  EXPECT_EQ(codes(lint_coturn_config(parse("realm=r\nuse-auth-secret\n"), {})),
            Codes{"coturn_secret_missing"});
  auto in = good_input();
  in.secret = "other";
  EXPECT_EQ(codes(lint_coturn_config(parse(kGood), in)), Codes{"coturn_secret_mismatch"});
  // Rotation: any of several secrets matches.
  EXPECT_EQ(codes(lint_coturn_config(parse(std::string(kGood) + "static-auth-secret=other\n"), in)),
            Codes{});
  EXPECT_EQ(codes(lint_coturn_config(parse("realm=r\nlt-cred-mech\n"), in)),
            Codes{"coturn_rest_disabled"});
}

TEST(CoturnLint, CertificateDates) {
  auto in = good_input();
  in.certificate->not_after_unix = kNow - 10;
  EXPECT_EQ(codes(lint_coturn_config(parse(kGood), in)), Codes{"coturn_certificate_expired"});
  in.certificate->not_after_unix = kNow + 3 * 86400;
  const auto soon = lint_coturn_config(parse(kGood), in);
  EXPECT_EQ(codes(soon), Codes{"coturn_certificate_expiring"});
  EXPECT_TRUE(soon[0].warning);
  in.certificate->not_before_unix = kNow + 100;
  EXPECT_EQ(codes(lint_coturn_config(parse(kGood), in)), Codes{"coturn_certificate_not_yet_valid"});
  in.certificate->error = "no PEM certificate in it";
  EXPECT_EQ(codes(lint_coturn_config(parse(kGood), in)), Codes{"coturn_certificate_unreadable"});
}

TEST(CoturnLint, PeerDenyListsThatCoverThePeers) {
  auto in = good_input();
  in.peers = {*IpAddress::parse("10.7.0.3")};
  const auto f = lint_coturn_config(parse(kGood), in);
  EXPECT_EQ(codes(f), Codes{"coturn_peer_denied"});
  EXPECT_NE(f[0].message.find("10.0.0.0-10.255.255.255"), std::string::npos);
  EXPECT_EQ(codes(lint_coturn_config(parse(std::string(kGood) + "allowed-peer-ip=10.7.0.3\n"), in)),
            Codes{});
  EXPECT_EQ(
      codes(lint_coturn_config(parse(std::string(kGood) + "denied-peer-ip=oops\n"), good_input())),
      Codes{"coturn_peer_range_invalid"});
}

// nft -j list ruleset of:
//   table inet filter { chain input { type filter hook input priority 0;
//       udp dport 49200 accept
//       udp dport 49100-49300 drop
//       udp dport 3478 drop } }
constexpr const char* kRuleset = R"({"nftables": [
  {"table": {"family": "inet", "name": "filter", "handle": 1}},
  {"chain": {"family": "inet", "table": "filter", "name": "input", "handle": 1,
             "type": "filter", "hook": "input", "prio": 0, "policy": "accept"}},
  {"rule": {"family": "inet", "table": "filter", "chain": "input", "handle": 2, "expr": [
    {"match": {"op": "==", "left": {"payload": {"protocol": "udp", "field": "dport"}},
               "right": 49200}}, {"accept": null}]}},
  {"rule": {"family": "inet", "table": "filter", "chain": "input", "handle": 3, "expr": [
    {"match": {"op": "==", "left": {"payload": {"protocol": "udp", "field": "dport"}},
               "right": {"range": [49100, 49300]}}}, {"drop": null}]}},
  {"rule": {"family": "inet", "table": "filter", "chain": "input", "handle": 4, "expr": [
    {"match": {"op": "==", "left": {"payload": {"protocol": "udp", "field": "dport"}},
               "right": 3478}}, {"drop": null}]}}]})";

TEST(CoturnLint, FirewallDropsInTheRelayRange) {
  auto rules = parse_nft_port_rules(kRuleset);
  ASSERT_TRUE(rules) << rules.error().message;
  const auto [lo, hi] = relay_port_range(parse(kGood));
  EXPECT_EQ(lo, 49152);
  EXPECT_EQ(hi, 49352);
  const auto drops = firewall_drops_in_range(*rules, lo, hi);
  ASSERT_EQ(drops.size(), 1u);
  EXPECT_EQ(drops[0].first_port, 49152);
  EXPECT_EQ(drops[0].last_port, 49300);
  EXPECT_NE(drops[0].rule.find("handle 3"), std::string::npos) << drops[0].rule;
  // The listening port's drop is not in the relay range.
  EXPECT_TRUE(firewall_drops_in_range(*rules, 50000, 60000).empty());
  EXPECT_EQ(relay_port_range(parse("")), (std::pair<uint16_t, uint16_t>{49152, 65535}));
  auto in = good_input();
  in.firewall = drops;
  EXPECT_EQ(codes(lint_coturn_config(parse(kGood), in)), Codes{"coturn_ports_firewalled"});
}

}  // namespace
}  // namespace tern::doctor

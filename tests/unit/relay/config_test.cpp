// Configuration checks: each mistake is refused with a message naming the
// setting, and the defaults pass once credentials exist.
#include "relay/relay_config.hpp"

#include "relay_test_util.hpp"

namespace tern::relay::test {
namespace {

void expect_refused(const RelayConfig& c, std::string_view words) {
  const auto r = validate(c);
  ASSERT_FALSE(r) << "accepted, expected: " << words;
  EXPECT_NE(r.error().message.find(words), std::string::npos) << r.error().message;
}

TEST(RelayConfig, DefaultsNeedCredentials) {
  RelayConfig c;
  expect_refused(c, "no credentials");
  c.users = {{"u", "p"}};
  EXPECT_TRUE(validate(c));
  c.users.clear();
  c.shared_secrets = {"s"};
  EXPECT_TRUE(validate(c));
  EXPECT_TRUE(validate(test_config()));
}

TEST(RelayConfig, MistakesAreNamed) {
  auto c = test_config();
  c.realm = "";
  expect_refused(c, "realm");
  c = test_config();
  c.realm = "has space";
  expect_refused(c, "realm");
  c = test_config();
  c.users.push_back({"alice", "again"});
  expect_refused(c, "configured twice");
  c = test_config();
  c.users.push_back({"carol", ""});
  expect_refused(c, "empty password");
  c = test_config();
  c.users.push_back({"", "x"});
  expect_refused(c, "user name");
  c = test_config();
  c.shared_secrets.push_back("");
  expect_refused(c, "shared secret is empty");
  c = test_config();
  c.max_lifetime = std::chrono::seconds(300);
  expect_refused(c, "maximum allocation lifetime");
  c = test_config();
  c.default_lifetime = std::chrono::milliseconds(600500);
  expect_refused(c, "default allocation lifetime");
  c = test_config();
  c.nonce_lifetime = std::chrono::seconds(5);
  expect_refused(c, "nonce lifetime");
  c = test_config();
  c.max_allocations = 0;
  expect_refused(c, "max allocations");
  c = test_config();
  c.max_channels = 0;
  expect_refused(c, "channels");
  c = test_config();
  c.relay_ipv4 = c.relay_ipv6 = false;
  expect_refused(c, "neither IPv4 nor IPv6");
  c = test_config();
  c.rate_limit.bytes_per_second = 1000;
  c.rate_limit.burst = Duration::zero();
  expect_refused(c, "burst");
  c = test_config();
  c.software = std::string(200, 'x');
  expect_refused(c, "software");
  c = test_config();
  c.discovery = BehaviorDiscovery{ep("192.0.2.1:3478"), ep("192.0.2.2:3478")};
  expect_refused(c, "both IP and port");
  c.discovery = BehaviorDiscovery{ep("192.0.2.1:3478"), ep("[2001:db8::2]:3479")};
  expect_refused(c, "different families");
  c.discovery = BehaviorDiscovery{ep("0.0.0.0:3478"), ep("192.0.2.2:3479")};
  expect_refused(c, "wildcard");
}

TEST(RelayConfig, ServerCreationRefusesABadConfig) {
  FakePorts ports;
  RelayConfig c;
  auto made = RelayServer::create(c, ports);
  ASSERT_FALSE(made);
  EXPECT_NE(made.error().message.find("no credentials"), std::string::npos);
}

}  // namespace
}  // namespace tern::relay::test

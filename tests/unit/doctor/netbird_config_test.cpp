#include "doctor/netbird_config.hpp"

#include <gtest/gtest.h>

namespace tern::doctor {
namespace {

// The shape of NetBird's management.json (infrastructure_files/management.json.tmpl), cut to
// what the doctor reads plus a neighbour it ignores.
constexpr std::string_view kTimeBased = R"({
  "Stuns": [{"Proto": "udp", "URI": "stun:netbird.example.org:3478", "Username": "",
             "Password": null}],
  "TURNConfig": {
    "Turns": [{"Proto": "udp", "URI": "turn:netbird.example.org:3478", "Username": "self",
               "Password": null},
              {"Proto": "tcp", "URI": "turn:192.0.2.2:3478", "Username": "", "Password": ""}],
    "CredentialsTTL": "12h",
    "Secret": "nb-secret",
    "TimeBasedCredentials": true
  },
  "Signal": {"Proto": "http", "URI": "netbird.example.org:10000"}
})";

TEST(NetbirdConfig, ReadsStunsTurnsAndTheSecret) {
  auto c = parse_netbird_config(kTimeBased);
  ASSERT_TRUE(c) << c.error().message;
  ASSERT_EQ(c->stuns.size(), 1u);
  EXPECT_EQ(c->stuns[0].uri, "stun:netbird.example.org:3478");
  ASSERT_EQ(c->turns.size(), 2u);
  EXPECT_EQ(c->turns[1].proto, "tcp");
  EXPECT_EQ(c->secret, "nb-secret");
  EXPECT_TRUE(c->time_based);
  EXPECT_EQ(c->credentials_ttl, std::chrono::hours(12));
}

TEST(NetbirdConfig, PlansChecksWithTheSecret) {
  const auto plan = plan_netbird_checks(*parse_netbird_config(kTimeBased));
  EXPECT_TRUE(plan.findings.empty());
  ASSERT_EQ(plan.targets.size(), 3u);
  EXPECT_FALSE(plan.targets[0].url.is_turn());
  EXPECT_EQ(plan.targets[1].url.to_string(), "turn:netbird.example.org:3478?transport=udp");
  EXPECT_EQ(plan.targets[1].secret, "nb-secret");
  EXPECT_EQ(plan.targets[1].rest_ttl, std::chrono::hours(12));
  EXPECT_FALSE(plan.targets[1].credentials);
  EXPECT_EQ(plan.targets[2].url.transport, UrlTransport::kTcp);
}

TEST(NetbirdConfig, StaticCredentials) {
  auto c = parse_netbird_config(R"({"TURNConfig": {"Turns": [
      {"Proto": "udp", "URI": "turn:192.0.2.2", "Username": "u", "Password": "p"},
      {"Proto": "udp", "URI": "turn:192.0.2.3", "Username": "u", "Password": null},
      {"Proto": "udp", "URI": "http://nope", "Username": "u", "Password": "p"}],
      "TimeBasedCredentials": false}})");
  ASSERT_TRUE(c);
  const auto plan = plan_netbird_checks(*c);
  ASSERT_EQ(plan.targets.size(), 1u);
  ASSERT_TRUE(plan.targets[0].credentials);
  EXPECT_EQ(plan.targets[0].credentials->username, "u");
  EXPECT_EQ(plan.targets[0].credentials->password, "p");
  ASSERT_EQ(plan.findings.size(), 2u);
  EXPECT_EQ(plan.findings[0].code, "netbird_credentials_missing");
  EXPECT_EQ(plan.findings[1].code, "netbird_url_invalid");
}

TEST(NetbirdConfig, ATurnUrlAmongTheStunsIsNamedNotChecked) {
  // Found by the fuzzer: a Stuns entry has no credentials, so a turn: URL there was planned
  // as a TURN check without any.
  auto c = parse_netbird_config(R"({"Stuns": [
      {"Proto": "udp", "URI": "turn:192.0.2.2:3478", "Username": "", "Password": null},
      {"Proto": "udp", "URI": "stun:192.0.2.2:3478"}]})");
  ASSERT_TRUE(c) << c.error().message;
  const auto plan = plan_netbird_checks(*c);
  ASSERT_EQ(plan.targets.size(), 1u);
  EXPECT_FALSE(plan.targets[0].url.is_turn());
  ASSERT_FALSE(plan.findings.empty());
  EXPECT_EQ(plan.findings[0].code, "netbird_url_invalid");
  EXPECT_NE(plan.findings[0].message.find("TURN URL"), std::string::npos);
}

TEST(NetbirdConfig, FileFaults) {
  auto no_secret = parse_netbird_config(
      R"({"TURNConfig": {"Turns": [{"URI": "turn:h"}], "TimeBasedCredentials": true}})");
  ASSERT_TRUE(no_secret);
  auto plan = plan_netbird_checks(*no_secret);
  ASSERT_EQ(plan.findings.size(), 1u);
  EXPECT_EQ(plan.findings[0].code, "netbird_secret_missing");
  EXPECT_TRUE(plan.targets.empty());
  auto no_turn = parse_netbird_config(R"({"Stuns": []})");
  ASSERT_TRUE(no_turn);
  EXPECT_EQ(plan_netbird_checks(*no_turn).findings[0].code, "netbird_turn_missing");
}

TEST(NetbirdConfig, RefusesWhatIsNotManagementJson) {
  EXPECT_FALSE(parse_netbird_config(""));
  EXPECT_FALSE(parse_netbird_config("[1, 2]"));
  EXPECT_FALSE(parse_netbird_config(R"({"Signal": {}})"));
  EXPECT_FALSE(parse_netbird_config(R"({"Stuns": 7})"));
  EXPECT_FALSE(parse_netbird_config(R"({"TURNConfig": {"Turns": [3]}})"));
  EXPECT_FALSE(parse_netbird_config(R"({"Stuns": [)"));
}

TEST(NetbirdConfig, GoDurations) {
  EXPECT_EQ(parse_go_duration("12h"), std::chrono::hours(12));
  EXPECT_EQ(parse_go_duration("1h30m"), std::chrono::minutes(90));
  EXPECT_EQ(parse_go_duration("90s"), std::chrono::seconds(90));
  EXPECT_EQ(parse_go_duration("250ms"), std::chrono::milliseconds(250));
  EXPECT_FALSE(parse_go_duration(""));
  EXPECT_FALSE(parse_go_duration("12"));
  EXPECT_FALSE(parse_go_duration("h"));
  EXPECT_FALSE(parse_go_duration("3d"));
}

}  // namespace
}  // namespace tern::doctor

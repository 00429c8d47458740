#include "control/api.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "control/agent_messages.hpp"
#include "control/api_requests.hpp"
#include "control/secret.hpp"
#include "control/sqlite_store.hpp"
#include "crypto/key_encoding.hpp"
#include "crypto/x25519.hpp"
#include "temp_dir.hpp"

namespace tern::control {
namespace {

using nlohmann::json;

std::string new_public_key() {
  return crypto::key_to_base64(crypto::public_key_from_private(crypto::generate_private_key()));
}

class ApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = SqliteStore::open(dir_.str());
    ASSERT_TRUE(s) << s.error().message;
    store_ = std::move(*s);
    auto token = ensure_admin_token(*store_, 1000);
    ASSERT_TRUE(token && *token);
    token_ = **token;
    EXPECT_FALSE(*ensure_admin_token(*store_, 1000));  // printed once only
    auto hash = admin_token_hash(*store_);
    ASSERT_TRUE(hash);
    ApiOptions options;
    options.relays.push_back({"turn:192.0.2.1:3478", "relay-secret", 3600});
    api_.emplace(*store_, options, *hash);
  }

  HttpResponse call(std::string method, std::string path, std::string body = {},
                    std::optional<std::string> token = {}, const char* from = "192.0.2.50") {
    HttpRequest r;
    r.method = std::move(method);
    r.path = std::move(path);
    r.body = std::move(body);
    if (token) r.headers.emplace_back("authorization", "Bearer " + *token);
    now_ += std::chrono::milliseconds(1);
    return api_->handle(r, Caller{*IpAddress::parse(from), now_, unix_});
  }
  HttpResponse admin_call(std::string method, std::string path, std::string body = {}) {
    return call(std::move(method), std::move(path), std::move(body), token_);
  }
  std::string create_key(const json& request) {
    auto r = admin_call("POST", "/api/v1/keys", request.dump());
    EXPECT_EQ(r.status, 201) << r.body;
    return json::parse(r.body)["secret"];
  }
  HttpResponse register_with(const std::string& key, const std::string& pub,
                             const char* from = "192.0.2.50") {
    return call("POST", "/api/v1/register",
                json{{"setup_key", key}, {"public_key", pub}, {"name", "host-1"}}.dump(), {}, from);
  }
  static std::string reason(const HttpResponse& r) {
    return json::parse(r.body).value("reason", "");
  }

  testing::TempDir dir_;
  std::unique_ptr<SqliteStore> store_;
  std::string token_;
  std::optional<Api> api_;
  Instant now_ = instant_from_ns(1'000'000'000);
  int64_t unix_ = 1'700'000'000;
};

TEST_F(ApiTest, AdminRoutesNeedTheToken) {
  EXPECT_EQ(call("GET", "/healthz").status, 200);
  auto none = call("GET", "/api/v1/keys");
  EXPECT_EQ(none.status, 401);
  EXPECT_EQ(reason(none), "no token");
  auto wrong = call("GET", "/api/v1/peers", {}, generate_secret(kAdminTokenPrefix));
  EXPECT_EQ(wrong.status, 401);
  EXPECT_EQ(reason(wrong), "invalid token");
  EXPECT_EQ(call("GET", "/api/v1/keys", {}, "").status, 401);
  EXPECT_EQ(admin_call("GET", "/api/v1/keys").status, 200);
  EXPECT_EQ(admin_call("GET", "/api/v1/nothing").status, 404);
  EXPECT_EQ(admin_call("PUT", "/api/v1/keys").status, 405);
}

TEST_F(ApiTest, RegistrationGivesAddressesAndTheStreamNotTheMap) {
  const std::string key = create_key({{"reusable", true}, {"tags", {"ci"}}});
  auto first = register_with(key, new_public_key());
  ASSERT_EQ(first.status, 201) << first.body;
  const std::string pub = new_public_key();
  auto second = register_with(key, pub);
  ASSERT_EQ(second.status, 201) << second.body;
  const json j = json::parse(second.body);
  EXPECT_EQ(j["peer"]["ipv4"], "100.64.0.2");
  EXPECT_TRUE(j["stream_token"].get<std::string>().starts_with("tpt_"));
  EXPECT_EQ(j["peer"]["tags"][0], "ci");
  EXPECT_EQ(j["peer"]["public_key"], pub);
  // The map comes as the stream's first message: an answer's size does not grow with peers.
  EXPECT_FALSE(j.contains("map"));
  EXPECT_EQ(j["stream"], "/api/v1/stream");
  // The agent takes the answer without a map (its stream brings it).
  auto own = crypto::key_from_base64(pub);
  ASSERT_TRUE(own);
  auto answer = parse_register_answer(second.body, *own);
  ASSERT_TRUE(answer) << answer.error().message;
  EXPECT_FALSE(answer->map);
  EXPECT_EQ(answer->ipv4.to_string(), "100.64.0.2");
  EXPECT_FALSE(parse_register_answer(first.body, *own));  // another machine's answer
  // The same machine again: 200, the same address.
  auto again = register_with(key, pub);
  EXPECT_EQ(again.status, 200);
  EXPECT_EQ(json::parse(again.body)["peer"]["ipv4"], "100.64.0.2");

  auto peers = json::parse(admin_call("GET", "/api/v1/peers").body)["peers"];
  ASSERT_EQ(peers.size(), 2u);
  const int64_t id = peers[0]["id"];
  EXPECT_EQ(admin_call("DELETE", "/api/v1/peers/" + std::to_string(id)).status, 200);
  EXPECT_EQ(admin_call("DELETE", "/api/v1/peers/" + std::to_string(id)).status, 404);
  EXPECT_EQ(json::parse(admin_call("GET", "/api/v1/peers").body)["peers"].size(), 1u);
  auto audit = json::parse(admin_call("GET", "/api/v1/audit").body)["audit"];
  EXPECT_EQ(audit[0]["action"], "peer.remove");
  EXPECT_EQ(audit[0]["actor"], "admin");
}

TEST_F(ApiTest, ForbiddenNamesTheReason) {
  const std::string one_off = create_key(json::object());
  ASSERT_EQ(register_with(one_off, new_public_key()).status, 201);
  auto used = register_with(one_off, new_public_key());
  EXPECT_EQ(used.status, 403);
  EXPECT_EQ(reason(used), "used up");

  const std::string expiring = create_key({{"reusable", true}, {"expires_in", 60}});
  unix_ += 61;
  auto expired = register_with(expiring, new_public_key());
  EXPECT_EQ(expired.status, 403);
  EXPECT_EQ(reason(expired), "expired");

  const std::string revoked = create_key({{"reusable", true}});
  auto keys = json::parse(admin_call("GET", "/api/v1/keys").body)["keys"];
  const int64_t id = keys[2]["id"];
  EXPECT_EQ(admin_call("DELETE", "/api/v1/keys/" + std::to_string(id)).status, 200);
  auto r = register_with(revoked, new_public_key());
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(reason(r), "revoked");
  EXPECT_EQ(json::parse(admin_call("GET", "/api/v1/keys").body)["keys"][2]["state"], "revoked");

  auto wrong = register_with(generate_secret(kSetupKeyPrefix), new_public_key());
  EXPECT_EQ(wrong.status, 403);
  EXPECT_EQ(reason(wrong), "wrong");
}

TEST_F(ApiTest, BadPublicKeysAndBodiesAre400) {
  const std::string key = create_key({{"reusable", true}});
  crypto::Key zero{};
  crypto::Key one{};
  one[0] = 1;
  for (const std::string& bad :
       {std::string("short"), crypto::key_to_base64(zero), crypto::key_to_base64(one),
        std::string(44, '!'), crypto::key_to_base64(zero).substr(0, 43) + "A"}) {
    EXPECT_EQ(register_with(key, bad).status, 400) << bad;
  }
  EXPECT_EQ(call("POST", "/api/v1/register", "{not json").status, 400);
  EXPECT_EQ(call("POST", "/api/v1/register", "[1]").status, 400);
  EXPECT_EQ(call("POST", "/api/v1/register", R"({"setup_key": 5, "public_key": "x"})").status, 400);
  EXPECT_EQ(call("GET", "/api/v1/register").status, 405);
  EXPECT_EQ(admin_call("POST", "/api/v1/keys", R"({"usage_limit": 5})").status, 400);
  EXPECT_EQ(admin_call("POST", "/api/v1/keys", R"({"tags": ["UPPER"]})").status, 400);
  EXPECT_EQ(admin_call("POST", "/api/v1/keys", R"({"expires_in": -1})").status, 400);
  EXPECT_EQ(parse_error_response(HttpParse::kBodyTooLarge).status, 413);
  EXPECT_EQ(parse_error_response(HttpParse::kHeadTooLarge).status, 431);
  EXPECT_EQ(parse_error_response(HttpParse::kBad).status, 400);
}

TEST_F(ApiTest, SetupKeyGuessingIsRateLimited) {
  const std::string key = create_key({{"reusable", true}});
  int refused = 0;
  for (int i = 0; i < 30; ++i) {
    auto r = register_with(generate_secret(kSetupKeyPrefix), new_public_key(), "203.0.113.9");
    if (r.status == 429) ++refused;
  }
  EXPECT_EQ(refused, 30 - static_cast<int>(GuessLimit::kBurst));
  // Even the right key waits: the limit refuses before checking.
  EXPECT_EQ(register_with(key, new_public_key(), "203.0.113.9").status, 429);
  // Other clients are not affected.
  EXPECT_EQ(register_with(key, new_public_key(), "198.51.100.1").status, 201);
  // Time refills the bucket.
  now_ += GuessLimit::kRefill * 2;
  EXPECT_EQ(register_with(key, new_public_key(), "203.0.113.9").status, 201);
}

TEST_F(ApiTest, TokenGuessingIsRateLimited) {
  for (int i = 0; i < static_cast<int>(GuessLimit::kBurst); ++i) {
    EXPECT_EQ(call("GET", "/api/v1/keys", {}, "tat_wrong", "203.0.113.7").status, 401);
  }
  EXPECT_EQ(call("GET", "/api/v1/keys", {}, token_, "203.0.113.7").status, 429);
  EXPECT_EQ(call("GET", "/api/v1/keys", {}, token_, "203.0.113.8").status, 200);
}

TEST(GuessLimit, BoundedAndPerSlash64) {
  GuessLimit limit;
  const Instant t0 = instant_from_ns(0);
  for (uint32_t i = 0; i < GuessLimit::kMaxClients + 100; ++i) {
    limit.failed(IpAddress::v4(0x0a000000u + i), t0);
  }
  EXPECT_LE(limit.tracked(), GuessLimit::kMaxClients);
  GuessLimit v6;
  for (int i = 0; i < static_cast<int>(GuessLimit::kBurst); ++i) {
    auto a = IpAddress::parse("2001:db8:1:2::" + std::to_string(i + 1));
    v6.failed(*a, t0);
  }
  EXPECT_FALSE(v6.allow(*IpAddress::parse("2001:db8:1:2:ffff::1"), t0));
  EXPECT_TRUE(v6.allow(*IpAddress::parse("2001:db8:1:3::1"), t0));
}

TEST(ApiRequests, RegisterRequestFields) {
  const std::string pub = new_public_key();
  auto ok = parse_register_request(
      json{{"setup_key", "tsk_x"}, {"public_key", pub}, {"endpoints", {"192.0.2.1:51820"}}}.dump());
  ASSERT_TRUE(ok) << ok.error().message;
  EXPECT_EQ(ok->hello.endpoints.size(), 1u);
  EXPECT_FALSE(parse_register_request(json{{"public_key", pub}}.dump()));
  EXPECT_FALSE(parse_register_request(
      json{{"setup_key", "k"}, {"public_key", pub}, {"endpoints", {"192.0.2.1:0"}}}.dump()));
  EXPECT_FALSE(parse_register_request(
      json{{"setup_key", "k"}, {"public_key", pub}, {"name", "bad name"}}.dump()));
  json many = json::array();
  for (int i = 0; i < 17; ++i)
    many.push_back("192.0.2.1:1");
  EXPECT_FALSE(parse_register_request(
      json{{"setup_key", "k"}, {"public_key", pub}, {"endpoints", many}}.dump()));
}

}  // namespace
}  // namespace tern::control

// The agent's parsers against what the server's own code writes (map_json, MapHub), and
// against input the server must not be trusted with.
#include "control/agent_messages.hpp"

#include <gtest/gtest.h>

#include <random>

#include <nlohmann/json.hpp>

#include "control/agent_backoff.hpp"
#include "control/agent_http.hpp"
#include "control/map_hub.hpp"
#include "control/websocket.hpp"
#include "crypto/key_encoding.hpp"

namespace tern::control {
namespace {

using nlohmann::json;

AddressPlan plan() {
  return AddressPlan{*IpPrefix::parse("100.64.0.0/10"), *IpPrefix::parse("fd00:1:2::/48")};
}

PeerRecord record(uint8_t id, std::mt19937& rng) {
  PeerRecord r;
  r.id = id;
  r.public_key.fill(id);
  r.public_key[31] = static_cast<uint8_t>(rng());
  r.name = "peer-" + std::to_string(id);
  r.number = id;
  r.ipv4 = v4_at(plan().v4, id);
  r.ipv6 = v6_at(plan().v6, id);
  for (unsigned e = 0; e < rng() % 3; ++e) {
    r.endpoints.push_back(*Endpoint::parse("192.0.2." + std::to_string(rng() % 250 + 1) + ":" +
                                           std::to_string(rng() % 60000 + 1)));
  }
  if (rng() % 2) r.tags = {"ci", "lab"};
  return r;
}

std::vector<PeerRecord> records(std::mt19937& rng, size_t n) {
  std::vector<PeerRecord> all;
  for (size_t i = 1; i <= n; ++i)
    all.push_back(record(static_cast<uint8_t>(i), rng));
  return all;
}

const std::vector<RelayConfig> kRelays = {{"turn:192.0.2.9:3478", "s3cret", 3600}};

TEST(AgentMessages, FullMapsRoundTripThroughJson) {
  std::mt19937 rng(7);
  for (int round = 0; round < 50; ++round) {
    auto all = records(rng, rng() % 12 + 1);
    const NetworkMap m = build_map(all, all[0], plan(), kRelays, round, 1'700'000'000 + round);
    auto parsed = parse_map_text(map_json(m).dump());
    ASSERT_TRUE(parsed) << parsed.error().message;
    EXPECT_EQ(*parsed, m);
  }
}

TEST(AgentMessages, FollowingTheHubEndsWhereAFullMapWould) {
  std::mt19937 rng(11);
  auto all = records(rng, 6);
  MapHub hub(kRelays);
  auto first = parse_stream_message(joined(hub.subscribe(1, all[0], all, plan(), 1, 1000)));
  ASSERT_TRUE(first);
  NetworkMap map = std::get<NetworkMap>(*first);
  uint8_t next_id = 7;
  for (int64_t rev = 2; rev < 60; ++rev) {
    switch (rng() % 3) {
      case 0:
        all.push_back(record(next_id++, rng));
        break;
      case 1:
        if (all.size() > 2)
          all.erase(all.begin() + 1 + static_cast<long>(rng() % (all.size() - 1)));
        break;
      default:
        all[rng() % all.size()].endpoints = {
            *Endpoint::parse("198.51.100.1:" + std::to_string(rev))};
    }
    const int64_t now = 1000 + rev * 1000;  // credentials roll over now and then
    for (const auto& push : hub.publish(all, plan(), rev, now)) {
      auto msg = parse_stream_message(joined(push.message));
      ASSERT_TRUE(msg) << msg.error().message;
      const auto& delta = std::get<MapDelta>(*msg);
      // Revisions that changed nothing for this agent were never sent: `from` may be ahead.
      EXPECT_GE(delta.from_revision, map.revision);
      map = apply_delta(map, delta);
    }
    EXPECT_EQ(map, build_map(all, all[0], plan(), kRelays, map.revision, now));
  }
}

TEST(AgentMessages, RemovedAndUnknownMessages) {
  auto removed = parse_stream_message(R"({"type":"removed"})");
  ASSERT_TRUE(removed);
  EXPECT_TRUE(std::holds_alternative<StreamRemoved>(*removed));
  EXPECT_FALSE(parse_stream_message(R"({"type":"hello"})"));
  EXPECT_FALSE(parse_stream_message("[1,2]"));
  EXPECT_FALSE(parse_stream_message("{\"type\":"));
  EXPECT_FALSE(parse_stream_message(R"({"type":"delta","from":1})"));
}

TEST(AgentMessages, RefusesMapsThatMakeNoSense) {
  std::mt19937 rng(3);
  auto all = records(rng, 3);
  const json good = map_json(build_map(all, all[0], plan(), kRelays, 5, 100));
  ASSERT_TRUE(parse_map(good));
  auto broken = [&](auto change) {
    json j = good;
    change(j);
    return !parse_map(j).has_value();
  };
  EXPECT_TRUE(broken([](json& j) { j["peers"][0]["public_key"] = "AAAA"; }));
  EXPECT_TRUE(broken([](json& j) { j["peers"][0]["ipv4"] = "fd00::1"; }));
  EXPECT_TRUE(broken([](json& j) { j["peers"][0]["ipv6"] = 7; }));
  EXPECT_TRUE(broken([](json& j) { j["peers"][0]["endpoints"] = {"192.0.2.1"}; }));
  EXPECT_TRUE(broken([](json& j) { j["peers"][0]["endpoints"] = {"192.0.2.1:0"}; }));
  EXPECT_TRUE(broken([](json& j) { j["peers"].push_back(j["peers"][0]); }));
  EXPECT_TRUE(broken([](json& j) { j["revision"] = "5"; }));
  EXPECT_TRUE(broken([](json& j) { j.erase("self"); }));
  EXPECT_TRUE(broken([](json& j) { j["v4"] = "fd00::/48"; }));
  EXPECT_TRUE(broken([](json& j) { j["relays"][0].erase("password"); }));
  EXPECT_TRUE(broken([](json& j) { j["peers"][0]["name"] = std::string(5000, 'x'); }));
  // Peers in any order come out sorted, as apply_delta needs them.
  json shuffled = good;
  std::swap(shuffled["peers"][0], shuffled["peers"][1]);
  auto m = parse_map(shuffled);
  ASSERT_TRUE(m);
  EXPECT_LT(m->peers[0].public_key, m->peers[1].public_key);
}

TEST(AgentMessages, RegisterRequestAndAnswer) {
  crypto::Key own{};
  own.fill(1);
  const json req = json::parse(
      register_request_json("tsk_abc", own, "laptop", {*Endpoint::parse("192.0.2.1:51820")}));
  EXPECT_EQ(req["setup_key"], "tsk_abc");
  EXPECT_EQ(req["public_key"], crypto::key_to_base64(own));
  EXPECT_EQ(req["endpoints"][0], "192.0.2.1:51820");

  std::mt19937 rng(5);
  auto all = records(rng, 2);
  all[0].public_key = own;
  const NetworkMap m = build_map(all, all[0], plan(), {}, 3, 100);
  const json body = {{"peer", {{"id", 1}}}, {"map", map_json(m)}, {"stream_token", "tpt_xyz"}};
  auto a = parse_register_answer(body.dump(), own);
  ASSERT_TRUE(a) << a.error().message;
  EXPECT_EQ(a->stream_token, "tpt_xyz");
  EXPECT_EQ(a->map, m);
  crypto::Key other{};
  other.fill(9);
  EXPECT_FALSE(parse_register_answer(body.dump(), other));  // a map for someone else
  json no_token = body;
  no_token["stream_token"] = "tat_admin";
  EXPECT_FALSE(parse_register_answer(no_token.dump(), own));
}

TEST(AgentMessages, EndpointsMessageIsWhatTheServerParses) {
  std::vector<Endpoint> eps;
  for (int i = 1; i <= 20; ++i)
    eps.push_back(*Endpoint::parse("192.0.2." + std::to_string(i) + ":51820"));
  auto back = parse_endpoints_message(endpoints_message(eps));
  ASSERT_TRUE(back);
  EXPECT_EQ(back->size(), 16u);  // the server's limit
  EXPECT_EQ((*back)[0], eps[0]);
}

TEST(AgentHttp, ResponseHeadAndUpgrade) {
  const std::string key = "dGhlIHNhbXBsZSBub25jZQ==";  // RFC 6455 §1.3
  const std::string wire =
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
      "Connection: Upgrade\r\nSec-WebSocket-Accept: " +
      ws_accept_key(key) + "\r\n\r\n\x81\x02{}";
  HttpResponseHead head;
  for (size_t n = 0; n < wire.find("\r\n\r\n") + 4; ++n) {
    EXPECT_EQ(parse_http_response_head(wire.substr(0, n), head).result, ResponseParse::kIncomplete);
  }
  auto r = parse_http_response_head(wire, head);
  ASSERT_EQ(r.result, ResponseParse::kOk);
  EXPECT_EQ(wire.substr(r.consumed), "\x81\x02{}");
  EXPECT_TRUE(check_stream_upgrade(head, key));
  EXPECT_FALSE(check_stream_upgrade(head, "AAAAAAAAAAAAAAAAAAAAAA=="));
  EXPECT_EQ(ws_accept_key(key), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");

  ASSERT_EQ(
      parse_http_response_head("HTTP/1.1 401 Unauthorized\r\nContent-Length: 12\r\n\r\n", head)
          .result,
      ResponseParse::kOk);
  EXPECT_EQ(head.status, 401);
  EXPECT_EQ(head.content_length, 12u);
  EXPECT_FALSE(check_stream_upgrade(head, key));
  EXPECT_EQ(parse_http_response_head("SSH-2.0-OpenSSH\r\n\r\n", head).result, ResponseParse::kBad);
  EXPECT_EQ(parse_http_response_head("HTTP/1.1 200 OK\r\nno colon\r\n\r\n", head).result,
            ResponseParse::kBad);
  EXPECT_EQ(parse_http_response_head(std::string(kMaxResponseHead + 1, 'a'), head).result,
            ResponseParse::kBad);
  EXPECT_EQ(error_text(403, R"({"error":"the setup key is revoked","reason":"revoked"})"),
            "HTTP 403: the setup key is revoked");
}

TEST(AgentHttp, ControlUrls) {
  auto u = parse_control_url("https://ctl.example.org");
  ASSERT_TRUE(u);
  EXPECT_TRUE(u->tls);
  EXPECT_EQ(u->host, "ctl.example.org");
  EXPECT_EQ(u->host_port, "ctl.example.org:443");
  u = parse_control_url("http://[::1]:8080/api");
  ASSERT_TRUE(u);
  EXPECT_FALSE(u->tls);
  EXPECT_EQ(u->host, "::1");
  EXPECT_EQ(u->host_port, "[::1]:8080");
  u = parse_control_url("https://127.0.0.1:8443");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->host_port, "127.0.0.1:8443");
  EXPECT_FALSE(parse_control_url("ftp://x"));
  EXPECT_FALSE(parse_control_url("https://"));
  EXPECT_FALSE(parse_control_url("https://host:99999"));
  EXPECT_FALSE(parse_control_url("https://:80"));
}

TEST(AgentBackoff, DoublesWithJitterUpToAMinute) {
  Backoff b;
  EXPECT_EQ(b.next(0), 500ms);
  EXPECT_EQ(b.next(0xFFFFFFFF), 2s);
  Duration last{};
  for (int i = 0; i < 10; ++i)
    last = b.next(0xFFFFFFFF);
  EXPECT_EQ(last, 60s);
  EXPECT_GE(b.next(0), 30s);
  b.reset();
  EXPECT_LE(b.next(0x7FFFFFFF), 1s);
}

}  // namespace
}  // namespace tern::control

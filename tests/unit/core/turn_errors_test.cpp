#include "core/turn_errors.hpp"

#include <gtest/gtest.h>

#include <string>

namespace tern::core {
namespace {

bool has(const std::string& text, std::string_view part) {
  return text.find(part) != std::string::npos;
}

TurnErrorContext ctx(StunTransport t = StunTransport::kUdp) {
  TurnErrorContext c;
  c.host = "turn.example.net";
  c.port = 3478;
  c.transport = t;
  return c;
}

struct CodeCase {
  uint16_t code;
  TurnErrorKind kind;
  std::string_view cause;
  std::string_view fix;
};

TEST(TurnErrors, EachCodeNamesCauseAndFix) {
  const CodeCase cases[] = {
      {486, TurnErrorKind::kQuotaReached, "quota is reached", "user-quota"},
      {508, TurnErrorKind::kInsufficientCapacity, "out of capacity", "min-port/max-port"},
      {440, TurnErrorKind::kAddressFamilyNotSupported, "cannot give an IPv4", "relay-ip"},
      {437, TurnErrorKind::kAllocationMismatch, "allocation mismatch", "not tern's current"},
      {403, TurnErrorKind::kForbidden, "refused the request", "client-address policy"},
      {442, TurnErrorKind::kUnsupportedTransport, "does not relay UDP", "no-udp-relay"},
      {500, TurnErrorKind::kServerError, "failed internally", "server's log"},
      {420, TurnErrorKind::kUnknownAttribute, "does not understand", "up-to-date"},
      {400, TurnErrorKind::kBadRequest, "malformed", "report it"},
      {441, TurnErrorKind::kWrongCredentials, "differ from the ones", "one username"},
  };
  for (const auto& c : cases) {
    const auto e = turn_error(ctx(), c.code, "");
    EXPECT_EQ(e.kind, c.kind) << c.code;
    EXPECT_EQ(e.code, c.code);
    EXPECT_TRUE(has(e.message, "turn.example.net:3478")) << e.message;
    EXPECT_TRUE(has(e.message, std::to_string(c.code))) << e.message;
    EXPECT_TRUE(has(e.message, c.cause)) << e.message;
    EXPECT_TRUE(has(e.message, c.fix)) << e.message;
  }
}

TEST(TurnErrors, ForbiddenPeerNamesThePeerAndThePolicy) {
  auto c = ctx();
  c.method = wire::StunMethod::kCreatePermission;
  c.peer = *Endpoint::parse("10.1.2.3:51820");
  const auto e = turn_error(c, 403, "Forbidden IP");
  EXPECT_EQ(e.kind, TurnErrorKind::kForbidden);
  EXPECT_TRUE(has(e.message, "forbids relaying to 10.1.2.3")) << e.message;
  EXPECT_TRUE(has(e.message, "\"Forbidden IP\"")) << e.message;
  EXPECT_TRUE(has(e.message, "allowed-peer-ip")) << e.message;
}

TEST(TurnErrors, Ipv6FamilyAndAlternate) {
  auto c = ctx();
  c.family = IpAddress::Family::kV6;
  EXPECT_TRUE(has(turn_error(c, 440, "").message, "cannot give an IPv6 relayed address"));
  c.alternate = *Endpoint::parse("192.0.2.9:3478");
  const auto e = turn_error(c, 300, "Try Alternate");
  EXPECT_EQ(e.kind, TurnErrorKind::kTryAlternate);
  EXPECT_TRUE(has(e.message, "192.0.2.9:3478")) << e.message;
}

TEST(TurnErrors, UnknownCodesKeepTheReasonPhrase) {
  auto c = ctx();
  c.method = wire::StunMethod::kRefresh;
  const auto e = turn_error(c, 599, "Custom Trouble");
  EXPECT_EQ(e.kind, TurnErrorKind::kOther);
  EXPECT_EQ(e.message,
            "turn.example.net:3478 answered tern's Refresh request with error 599: "
            "Custom Trouble");
}

TEST(TurnErrors, ServerTextIsCleaned) {
  const auto e = turn_error(ctx(), 599, "bad\x1b[31m\nline");
  EXPECT_FALSE(has(e.message, "\x1b"));
  EXPECT_FALSE(has(e.message, "\n"));
  EXPECT_EQ(clean_server_text(std::string(200, 'a')).size(), 131u);
}

TEST(TurnErrors, TimeoutsPerTransport) {
  const auto udp = turn_timeout_error(ctx(StunTransport::kUdp), 39500ms);
  EXPECT_EQ(udp.kind, TurnErrorKind::kTimeout);
  EXPECT_EQ(udp.message,
            "no answer from turn.example.net:3478 over UDP in 39.5 s: the server is down or "
            "UDP/3478 is blocked; try turn:turn.example.net:3478?transport=tcp or "
            "turns:turn.example.net:5349");
  const auto tcp = turn_timeout_error(ctx(StunTransport::kTcp), 39500ms);
  EXPECT_TRUE(has(tcp.message, "over TCP in 39.5 s")) << tcp.message;
  EXPECT_TRUE(has(tcp.message, "turns:turn.example.net:5349")) << tcp.message;
  const auto tls = turn_timeout_error(ctx(StunTransport::kTls), 39500ms);
  EXPECT_TRUE(has(tls.message, "over TLS")) << tls.message;
  EXPECT_TRUE(has(tls.message, "?transport=tcp")) << tls.message;

  TurnErrorContext v6 = ctx();
  v6.host = "2001:db8::1";
  EXPECT_TRUE(has(turn_timeout_error(v6, 39500ms).message, "turns:[2001:db8::1]:5349"));
}

TEST(TurnErrors, StaticCredentials) {
  const auto e = turn_credentials_error(ctx(), "alice", "tern.test", std::nullopt, 1'750'000'000);
  EXPECT_EQ(e.kind, TurnErrorKind::kWrongCredentials);
  EXPECT_EQ(e.code, 401);
  EXPECT_TRUE(has(e.message, "\"alice\"")) << e.message;
  EXPECT_TRUE(has(e.message, "password is wrong")) << e.message;
  EXPECT_TRUE(has(e.message, "turnadmin -a -u alice -r tern.test")) << e.message;
}

TEST(TurnErrors, RestCredentialsExpiredOrSkewed) {
  const int64_t now = 1'750'000'000;
  const auto expired = turn_credentials_error(ctx(), "1749999000:peer", "r", 1749999000, now);
  EXPECT_EQ(expired.kind, TurnErrorKind::kCredentialsExpired);
  EXPECT_TRUE(has(expired.message, "expired at 2025-06-15 14:50:00 UTC")) << expired.message;
  EXPECT_TRUE(has(expired.message, "1000 s ago")) << expired.message;
  EXPECT_TRUE(has(expired.message, "clock skew")) << expired.message;
  EXPECT_TRUE(has(expired.message, "NTP")) << expired.message;

  const auto near = turn_credentials_error(ctx(), "1750000100:peer", "r", 1750000100, now);
  EXPECT_EQ(near.kind, TurnErrorKind::kCredentialsExpired);
  EXPECT_TRUE(has(near.message, "in 100 s")) << near.message;
  EXPECT_TRUE(has(near.message, "ahead of this one")) << near.message;

  const auto secret = turn_credentials_error(ctx(), "1750086400:peer", "r", 1750086400, now);
  EXPECT_EQ(secret.kind, TurnErrorKind::kWrongCredentials);
  EXPECT_TRUE(has(secret.message, "shared secret differs")) << secret.message;
  EXPECT_TRUE(has(secret.message, "static-auth-secret")) << secret.message;

  const auto no_clock = turn_credentials_error(ctx(), "1750086400:peer", "r", 1750086400, {});
  EXPECT_EQ(no_clock.kind, TurnErrorKind::kWrongCredentials);
}

TEST(TurnErrors, FormatsUtc) {
  EXPECT_EQ(format_unix_utc(0), "1970-01-01 00:00:00 UTC");
  EXPECT_EQ(format_unix_utc(1735689600), "2025-01-01 00:00:00 UTC");
  EXPECT_EQ(format_unix_utc(951782400), "2000-02-29 00:00:00 UTC");
  EXPECT_EQ(format_unix_utc(1750000000), "2025-06-15 15:06:40 UTC");
  EXPECT_EQ(format_unix_utc(-1), "1969-12-31 23:59:59 UTC");
}

TEST(TurnErrors, KindNames) {
  EXPECT_EQ(turn_error_kind_name(TurnErrorKind::kWrongCredentials), "wrong_credentials");
  EXPECT_EQ(turn_error_kind_name(TurnErrorKind::kTimeout), "timeout");
  EXPECT_EQ(turn_error_kind_name(TurnErrorKind::kQuotaReached), "quota_reached");
}

}  // namespace
}  // namespace tern::core

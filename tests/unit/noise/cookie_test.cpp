#include "noise/cookie.hpp"

#include <gtest/gtest.h>

#include <array>

#include "crypto/x25519.hpp"
#include "noise/handshake.hpp"
#include "wire/tai64n.hpp"

namespace tern::noise {
namespace {

using InitBuf = std::array<uint8_t, wire::kInitiationSize>;

struct Peers {
  LocalIdentity a = LocalIdentity::from_private(crypto::generate_private_key());
  LocalIdentity b = LocalIdentity::from_private(crypto::generate_private_key());
  Handshake initiator{a, b.public_key};
  MacGenerator macs{b.public_key};  // a's generator for messages to b
  CookieChecker checker{b};         // b checks what arrives
  Endpoint source = *Endpoint::parse("192.0.2.7:51820");
  Instant t0 = instant_from_ns(5'000'000'000);

  InitBuf initiation(Instant now) {
    InitBuf m{};
    EXPECT_TRUE(initiator.create_initiation(1234, wire::tai64n_from_wall(WallTime{1}), m));
    EXPECT_TRUE(macs.add_macs(m, now));
    return m;
  }
  // b answers `m` with a cookie reply and a consumes it.
  bool cookie_round_trip(const InitBuf& m, Instant now) {
    std::array<uint8_t, wire::kCookieReplySize> reply{};
    if (!checker.create_cookie_reply(m, source, now, reply)) return false;
    auto parsed = wire::parse_cookie_reply(reply);
    return parsed && macs.consume_cookie_reply(*parsed, now);
  }
};

TEST(Cookie, Mac1IsCheckedAgainstTheReceiversKey) {
  Peers s;
  InitBuf m = s.initiation(s.t0);
  EXPECT_TRUE(s.checker.check_mac1(m));
  EXPECT_EQ(s.checker.check(m, s.source, false, s.t0), MacCheck::kValidMacNoCookie);
  // Any change before mac1, or to mac1, breaks it.
  for (size_t i :
       {size_t{0} + 4, size_t{50}, wire::kInitiationMac1Offset - 1, wire::kInitiationMac1Offset}) {
    InitBuf bad = m;
    bad[i] ^= 1;
    EXPECT_FALSE(s.checker.check_mac1(bad)) << i;
    EXPECT_EQ(s.checker.check(bad, s.source, true, s.t0), MacCheck::kInvalidMac1);
  }
  // mac2 is not covered by mac1.
  InitBuf mac2_changed = m;
  mac2_changed[147] ^= 1;
  EXPECT_TRUE(s.checker.check_mac1(mac2_changed));
  // Another receiver's checker rejects it.
  CookieChecker other(LocalIdentity::from_private(crypto::generate_private_key()));
  EXPECT_FALSE(other.check_mac1(m));
  // Not a handshake message.
  EXPECT_FALSE(s.checker.check_mac1(Bytes(m.data(), 100)));
}

TEST(Cookie, WithoutACookieMac2IsZeroAndInvalidUnderLoad) {
  Peers s;
  InitBuf m = s.initiation(s.t0);
  EXPECT_TRUE(std::all_of(m.end() - 16, m.end(), [](uint8_t b) { return b == 0; }));
  EXPECT_FALSE(s.checker.check_mac2(m, s.source, s.t0));
  EXPECT_EQ(s.checker.check(m, s.source, true, s.t0), MacCheck::kValidMacNoCookie);
}

TEST(Cookie, ReplyRoundTripThenMac2Validates) {
  Peers s;
  InitBuf m = s.initiation(s.t0);
  ASSERT_TRUE(s.cookie_round_trip(m, s.t0));
  EXPECT_TRUE(s.macs.has_fresh_cookie(s.t0));
  InitBuf retry = s.initiation(s.t0 + 1s);
  EXPECT_TRUE(s.checker.check_mac2(retry, s.source, s.t0 + 1s));
  EXPECT_EQ(s.checker.check(retry, s.source, true, s.t0 + 1s), MacCheck::kValidMacWithCookie);
  // The cookie is bound to the source address and port.
  EXPECT_FALSE(s.checker.check_mac2(retry, *Endpoint::parse("192.0.2.7:51821"), s.t0 + 1s));
  EXPECT_FALSE(s.checker.check_mac2(retry, *Endpoint::parse("192.0.2.8:51820"), s.t0 + 1s));
  EXPECT_FALSE(s.checker.check_mac2(retry, *Endpoint::parse("[2001:db8::7]:51820"), s.t0 + 1s));
}

TEST(Cookie, ReplyReceiverIndexIsTheSendersIndex) {
  Peers s;
  InitBuf m = s.initiation(s.t0);
  std::array<uint8_t, wire::kCookieReplySize> reply{};
  ASSERT_TRUE(s.checker.create_cookie_reply(m, s.source, s.t0, reply));
  EXPECT_EQ(wire::parse_cookie_reply(reply)->receiver_index, 1234u);
}

TEST(Cookie, ResponderSecretRotatesAfter120Seconds) {
  Peers s;
  InitBuf m = s.initiation(s.t0);
  ASSERT_TRUE(s.cookie_round_trip(m, s.t0));
  InitBuf retry = s.initiation(s.t0 + 119s);
  EXPECT_TRUE(s.checker.check_mac2(retry, s.source, s.t0 + 119s));
  EXPECT_FALSE(s.checker.check_mac2(retry, s.source, s.t0 + 120s));
}

TEST(Cookie, SenderStopsUsingAnOldCookie) {
  Peers s;
  InitBuf m = s.initiation(s.t0);
  ASSERT_TRUE(s.cookie_round_trip(m, s.t0));
  EXPECT_TRUE(s.macs.has_fresh_cookie(s.t0 + 119s));
  EXPECT_FALSE(s.macs.has_fresh_cookie(s.t0 + 120s));
  InitBuf late = s.initiation(s.t0 + 121s);
  EXPECT_TRUE(std::all_of(late.end() - 16, late.end(), [](uint8_t b) { return b == 0; }));
}

TEST(Cookie, ReplyMustMatchTheLastMac1Sent) {
  Peers s;
  InitBuf first = s.initiation(s.t0);
  std::array<uint8_t, wire::kCookieReplySize> reply{};
  ASSERT_TRUE(s.checker.create_cookie_reply(first, s.source, s.t0, reply));
  // A newer message was sent since: the reply to the older one no longer opens.
  (void)s.initiation(s.t0);
  EXPECT_FALSE(s.macs.consume_cookie_reply(*wire::parse_cookie_reply(reply), s.t0));
  EXPECT_FALSE(s.macs.has_fresh_cookie(s.t0));
}

TEST(Cookie, ReplyIsAcceptedOnlyOncePerMessageSent) {
  Peers s;
  InitBuf m = s.initiation(s.t0);
  std::array<uint8_t, wire::kCookieReplySize> reply{};
  ASSERT_TRUE(s.checker.create_cookie_reply(m, s.source, s.t0, reply));
  auto parsed = *wire::parse_cookie_reply(reply);
  EXPECT_TRUE(s.macs.consume_cookie_reply(parsed, s.t0));
  EXPECT_FALSE(s.macs.consume_cookie_reply(parsed, s.t0));
}

TEST(Cookie, NothingSentMeansNoReplyAccepted) {
  Peers s;
  wire::CookieReply r;
  EXPECT_FALSE(s.macs.consume_cookie_reply(r, s.t0));
}

TEST(Cookie, TamperedReplyIsRejected) {
  Peers s;
  InitBuf m = s.initiation(s.t0);
  std::array<uint8_t, wire::kCookieReplySize> reply{};
  ASSERT_TRUE(s.checker.create_cookie_reply(m, s.source, s.t0, reply));
  for (size_t i = 8; i < reply.size(); i += 5) {
    auto bad = reply;
    bad[i] ^= 0x10;
    EXPECT_FALSE(s.macs.consume_cookie_reply(*wire::parse_cookie_reply(bad), s.t0)) << i;
  }
  EXPECT_TRUE(s.macs.consume_cookie_reply(*wire::parse_cookie_reply(reply), s.t0));
}

TEST(Cookie, ResponsesCarryMacsToo) {
  Peers s;
  InitBuf m = s.initiation(s.t0);
  auto consumed = Handshake(s.b, s.a.public_key).consume_initiation(*open_initiation(s.b, m));
  ASSERT_TRUE(consumed);
  Handshake responder(s.b, s.a.public_key);
  std::array<uint8_t, wire::kResponseSize> resp{};
  ASSERT_TRUE(responder.create_response(*consumed, 99, resp));
  MacGenerator b_macs(s.a.public_key);
  ASSERT_TRUE(b_macs.add_macs(resp, s.t0));
  CookieChecker a_checker(s.a);
  EXPECT_TRUE(a_checker.check_mac1(resp));
  EXPECT_FALSE(s.checker.check_mac1(resp));  // addressed to a, not b
  EXPECT_FALSE(b_macs.add_macs(MutableBytes(resp.data(), 91), s.t0));
}

}  // namespace
}  // namespace tern::noise

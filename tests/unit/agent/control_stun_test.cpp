// ReflexiveProbe as a timeline: Binding requests to the map's relays, answers told apart from
// WireGuard traffic by source and transaction, retransmits, give-up and the periodic re-ask.
#include "agent/control_stun.hpp"

#include <gtest/gtest.h>

#include "wire/stun_attributes.hpp"
#include "wire/stun_builder.hpp"

namespace tern::agent {
namespace {

using namespace std::chrono_literals;

const Endpoint kRelay{IpAddress::v4({198, 51, 100, 1}), 3478};
const Endpoint kRelay2{IpAddress::v4({198, 51, 100, 2}), 3478};
const Endpoint kPublic{IpAddress::v4({203, 0, 113, 5}), 40001};

Instant at(Duration d) {
  return Instant{} + 1000s + d;
}

// The relay's answer to `request`: a success with XOR-MAPPED-ADDRESS `mapped`.
std::vector<uint8_t> answer(Bytes request, const Endpoint& mapped, bool error = false) {
  auto m = wire::StunMessage::parse(request);
  EXPECT_TRUE(m);
  EXPECT_TRUE(m->is(wire::StunMethod::kBinding, wire::StunClass::kRequest));
  std::vector<uint8_t> out(wire::kStunMaxUdpMessage);
  wire::StunBuilder b(out, wire::StunMethod::kBinding,
                      error ? wire::StunClass::kError : wire::StunClass::kSuccess,
                      m->transaction_id());
  if (error) {
    b.add_error_code(400, "Bad Request");
  } else {
    b.add_xor_address(wire::StunAttr::kXorMappedAddress, mapped);
  }
  b.add_fingerprint();
  out.resize(b.size());
  return out;
}

// `p` told of kRelay at 0 s, and the request it sends then.
std::optional<ReflexiveProbe::Transmit> ask(ReflexiveProbe& p) {
  p.set_servers({kRelay}, at(0s));
  p.handle_timeout(at(0s));
  return p.poll_transmit();
}

// ... and kRelay's answer at 10 ms, which `p` takes: it knows kPublic.
bool ask_and_answer(ReflexiveProbe& p) {
  auto t = ask(p);
  return t && p.handle_input(kRelay, answer(t->data, kPublic), at(10ms));
}

TEST(ReflexiveProbe, AsksTheRelayAndReadsItsAnswer) {
  ReflexiveProbe p;
  EXPECT_FALSE(p.poll_timeout());
  p.set_servers({kRelay}, at(0s));
  ASSERT_TRUE(p.poll_timeout());
  p.handle_timeout(at(0s));
  auto t = p.poll_transmit();
  ASSERT_TRUE(t);
  EXPECT_EQ(t->to, kRelay);
  EXPECT_TRUE(wire::is_stun(t->data));
  EXPECT_FALSE(p.poll_transmit());
  EXPECT_FALSE(p.reflexive());

  const auto reply = answer(t->data, kPublic);
  // From elsewhere (a peer, or a spoofer): not ours, left to the device.
  EXPECT_FALSE(p.handle_input(kRelay2, reply, at(10ms)));
  // A WireGuard message from the relay's address is not STUN either.
  std::vector<uint8_t> wg(148, 0);
  wg[0] = 1;
  EXPECT_FALSE(p.handle_input(kRelay, wg, at(10ms)));
  EXPECT_FALSE(p.reflexive());

  EXPECT_TRUE(p.handle_input(kRelay, reply, at(20ms)));
  ASSERT_TRUE(p.reflexive());
  EXPECT_EQ(*p.reflexive(), kPublic);
  // A second copy is no longer awaited.
  EXPECT_FALSE(p.handle_input(kRelay, reply, at(30ms)));
  // The next question comes after the interval.
  ASSERT_TRUE(p.poll_timeout());
  EXPECT_EQ(*p.poll_timeout(), at(20ms) + ReflexiveProbe::kInterval);
}

TEST(ReflexiveProbe, AnotherTransactionIsNotOurs) {
  ReflexiveProbe p;
  auto t = ask(p);
  ASSERT_TRUE(t);
  auto reply = answer(t->data, kPublic);
  reply[8] ^= 0xff;  // the transaction ID's first byte
  EXPECT_FALSE(p.handle_input(kRelay, reply, at(10ms)));
  EXPECT_FALSE(p.reflexive());
}

TEST(ReflexiveProbe, RetransmitsThenGivesUpAndForgets) {
  ReflexiveProbe p;
  ASSERT_TRUE(ask_and_answer(p));

  // The next round goes unanswered: resent at RTO 500 ms, doubled, then given up (39.5 s).
  Instant now = at(10ms) + ReflexiveProbe::kInterval;
  p.handle_timeout(now);
  auto again = p.poll_transmit();
  ASSERT_TRUE(again);
  int sends = 1;
  for (int i = 0; i < 100 && p.reflexive(); ++i) {
    now = *p.poll_timeout();
    p.handle_timeout(now);
    while (auto r = p.poll_transmit()) {
      EXPECT_EQ(r->data, again->data) << "a retransmission is the same request";
      ++sends;
    }
  }
  EXPECT_EQ(sends, 7);
  EXPECT_FALSE(p.reflexive());
  EXPECT_GE(now - (at(10ms) + ReflexiveProbe::kInterval), 39s);
}

TEST(ReflexiveProbe, ErrorAnswerSaysNothingAboutUs) {
  ReflexiveProbe p;
  auto t = ask(p);
  ASSERT_TRUE(t);
  EXPECT_TRUE(p.handle_input(kRelay, answer(t->data, kPublic, true), at(10ms)));
  EXPECT_FALSE(p.reflexive());
}

TEST(ReflexiveProbe, NewRelayIsAskedAtOnceKnownOneKeepsItsAnswer) {
  ReflexiveProbe p;
  ASSERT_TRUE(ask_and_answer(p));

  p.set_servers({kRelay2, kRelay, kRelay}, at(5s));
  EXPECT_EQ(p.servers().size(), 2u);
  EXPECT_EQ(*p.poll_timeout(), at(5s));
  p.handle_timeout(at(5s));
  auto t2 = p.poll_transmit();
  ASSERT_TRUE(t2);
  EXPECT_EQ(t2->to, kRelay2);
  EXPECT_FALSE(p.poll_transmit()) << "the known relay was asked again before its interval";
  EXPECT_EQ(*p.reflexive(), kPublic);

  p.set_servers({}, at(6s));
  EXPECT_FALSE(p.reflexive());
  EXPECT_FALSE(p.poll_timeout());
}

TEST(StunServerOf, RelayUrls) {
  struct Case {
    const char* url;
    std::optional<std::string> server;
  };
  const Case cases[] = {
      {"turn:192.0.2.1:3478", "192.0.2.1:3478"},
      {"turn:192.0.2.1", "192.0.2.1:3478"},
      {"stun:relay.example.org:3479", "relay.example.org:3479"},
      {"turn:relay.example.org?transport=udp", "relay.example.org:3478"},
      {"turn:[2001:db8::1]:3478", "[2001:db8::1]:3478"},
      {"turn:[2001:db8::1]", "[2001:db8::1]:3478"},
      {"turn:relay.example.org?transport=tcp", std::nullopt},
      {"turns:relay.example.org:5349", std::nullopt},
      {"stuns:relay.example.org", std::nullopt},
      {"http://relay.example.org", std::nullopt},
      {"turn:", std::nullopt},
      {"turn:2001:db8::1", std::nullopt},
      {"turn:[2001:db8::1", std::nullopt},
      {"turn:[]:3478", std::nullopt},
      {"turn:[2001:db8::1]x", std::nullopt},
      {"turn::3478", std::nullopt},
      {"turn:relay:", std::nullopt},
      {"turn:relay:0", std::nullopt},
      {"turn:relay:65536", std::nullopt},
      {"turn:relay:34x8", std::nullopt},
  };
  for (const auto& c : cases)
    EXPECT_EQ(stun_server_of(c.url), c.server) << c.url;
}

}  // namespace
}  // namespace tern::agent

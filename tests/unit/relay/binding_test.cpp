// The STUN Binding responder: XOR-MAPPED-ADDRESS for anyone, without
// credentials; RFC 5780 OTHER-ADDRESS, RESPONSE-ORIGIN and CHANGE-REQUEST with a
// second address configured (and 420 without one), RESPONSE-PORT; and what it
// does with messages that are not requests.
#include "relay_test_util.hpp"

namespace tern::relay::test {
namespace {

const Endpoint kA1P1 = ep("192.0.2.1:3478");
const Endpoint kA2P2 = ep("192.0.2.2:3479");

RelayConfig discovery_config() {
  auto c = test_config();
  c.discovery = BehaviorDiscovery{kA1P1, kA2P2};
  return c;
}

std::vector<uint8_t> binding_request(std::optional<wire::ChangeRequest> change = std::nullopt,
                                     bool fingerprint = true) {
  std::vector<uint8_t> buf(256);
  wire::TransactionId id{};
  crypto::random_bytes(id);
  StunBuilder b(buf, StunMethod::kBinding, StunClass::kRequest, id);
  if (change) b.add_change_request(*change);
  if (fingerprint) b.add_fingerprint();
  buf.resize(b.size());
  return buf;
}

std::optional<Sent> ask(Fixture& f, const FiveTuple& t, const std::vector<uint8_t>& request) {
  return copy(f.server->handle_client(t, request, at(0)));
}

TEST(Binding, AnswersWithTheMappedAddress) {
  Fixture f;
  const auto t = f.tuple("203.0.113.50:61000");
  const auto request = binding_request();
  auto out = ask(f, t, request);
  ASSERT_TRUE(out && out->is_success());
  EXPECT_EQ(out->msg().transaction_id(), StunMessage::parse(request)->transaction_id());
  EXPECT_EQ(out->xor_address(StunAttr::kXorMappedAddress), ep("203.0.113.50:61000"));
  EXPECT_EQ(out->text(StunAttr::kSoftware), "tern");
  EXPECT_EQ(wire::check_fingerprint(out->msg()), wire::StunCheck::kValid);
  EXPECT_FALSE(out->msg().integrity_offset());
  // Without a second address: no RFC 5780 attributes.
  EXPECT_FALSE(out->address(StunAttr::kOtherAddress));
  EXPECT_FALSE(out->address(StunAttr::kResponseOrigin));
  EXPECT_EQ(out->from, kListener);
  EXPECT_EQ(out->to, t.client);
  EXPECT_EQ(f.server->counters().requested(RelayMethod::kBinding), 1u);

  // No FINGERPRINT in the request: none in the answer; IPv6 and TCP work alike.
  const FiveTuple v6{ep("[2001:db8:5::1]:1234"), ep("[2001:db8::1]:3478"), Transport::kTcp};
  out = ask(f, v6, binding_request(std::nullopt, false));
  ASSERT_TRUE(out && out->is_success());
  EXPECT_FALSE(out->msg().fingerprint_offset());
  EXPECT_EQ(out->xor_address(StunAttr::kXorMappedAddress), v6.client);
  EXPECT_EQ(out->transport, Transport::kTcp);
}

TEST(Binding, ChangeRequestWithoutASecondAddressIs420) {
  Fixture f;
  auto out =
      ask(f, f.tuple("203.0.113.50:61000"), binding_request(wire::ChangeRequest{true, false}));
  ASSERT_TRUE(out);
  EXPECT_EQ(out->code(), 420);
  auto list = wire::decode_unknown_attributes(out->msg().find(StunAttr::kUnknownAttributes)->value);
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ((*list)[0], wire::to_u16(StunAttr::kChangeRequest));
  // A CHANGE-REQUEST that asks for no change is a plain request.
  out = ask(f, f.tuple("203.0.113.50:61000"), binding_request(wire::ChangeRequest{false, false}));
  EXPECT_TRUE(out->is_success());
}

TEST(Binding, Rfc5780OtherAddressAndResponseOrigin) {
  Fixture f(discovery_config());
  // Each of the four listeners names the address differing in both IP and port.
  const std::pair<Endpoint, Endpoint> cases[] = {
      {ep("192.0.2.1:3478"), ep("192.0.2.2:3479")},
      {ep("192.0.2.1:3479"), ep("192.0.2.2:3478")},
      {ep("192.0.2.2:3478"), ep("192.0.2.1:3479")},
      {ep("192.0.2.2:3479"), ep("192.0.2.1:3478")},
  };
  for (const auto& [local, other] : cases) {
    const FiveTuple t{ep("203.0.113.50:61000"), local, Transport::kUdp};
    auto out = ask(f, t, binding_request());
    ASSERT_TRUE(out && out->is_success());
    EXPECT_EQ(out->address(StunAttr::kOtherAddress), other) << local.to_string();
    EXPECT_EQ(out->address(StunAttr::kResponseOrigin), local);
    EXPECT_EQ(out->from, local);
  }
}

TEST(Binding, ChangeRequestIsAnsweredFromTheOtherIpAndPort) {
  Fixture f(discovery_config());
  const FiveTuple t{ep("203.0.113.50:61000"), kA1P1, Transport::kUdp};
  struct Case {
    wire::ChangeRequest change;
    Endpoint from;
  };
  const Case cases[] = {
      {{false, false}, ep("192.0.2.1:3478")},
      {{true, false}, ep("192.0.2.2:3478")},
      {{false, true}, ep("192.0.2.1:3479")},
      {{true, true}, ep("192.0.2.2:3479")},
  };
  for (const auto& c : cases) {
    auto out = ask(f, t, binding_request(c.change));
    ASSERT_TRUE(out && out->is_success());
    EXPECT_EQ(out->from, c.from);
    EXPECT_EQ(out->address(StunAttr::kResponseOrigin), c.from);
    EXPECT_EQ(out->to, t.client);
    EXPECT_EQ(out->xor_address(StunAttr::kXorMappedAddress), t.client);
  }
  // Over TCP the answer cannot come from elsewhere.
  const FiveTuple tcp{ep("203.0.113.50:61000"), kA1P1, Transport::kTcp};
  EXPECT_EQ(ask(f, tcp, binding_request(wire::ChangeRequest{true, true}))->code(), 420);
  // A listener outside the configured pair knows no other address.
  const FiveTuple elsewhere{ep("203.0.113.50:61000"), ep("192.0.2.1:5000"), Transport::kUdp};
  auto out = ask(f, elsewhere, binding_request());
  EXPECT_FALSE(out->address(StunAttr::kOtherAddress));
  EXPECT_EQ(ask(f, elsewhere, binding_request(wire::ChangeRequest{false, true}))->code(), 420);
}

std::vector<uint8_t> response_port_request(uint32_t value) {
  std::vector<uint8_t> buf(256);
  wire::TransactionId id{};
  crypto::random_bytes(id);
  StunBuilder b(buf, StunMethod::kBinding, StunClass::kRequest, id);
  b.add_u32(StunAttr::kResponsePort, value);
  buf.resize(b.size());
  return buf;
}

TEST(Binding, ResponsePortSendsTheAnswerToThatPort) {
  // RFC 5780 §7.5: to the client's IP at the port named, from where it was asked.
  Fixture f(discovery_config());
  const auto t = f.tuple("203.0.113.50:40000");
  auto out = ask(f, t, response_port_request(0x13880000));  // port 5000, then padding
  ASSERT_TRUE(out && out->is_success()) << out->reason();
  EXPECT_EQ(out->to, ep("203.0.113.50:5000"));
  EXPECT_EQ(out->from, t.server);
  EXPECT_EQ(out->xor_address(StunAttr::kXorMappedAddress), t.client);
  // Also without a second address: it needs nothing but the listener.
  Fixture plain;
  out = ask(plain, t, response_port_request(0x13890000));
  ASSERT_TRUE(out && out->is_success());
  EXPECT_EQ(out->to, ep("203.0.113.50:5001"));
  // Port 0 is no port: 400.
  EXPECT_EQ(ask(f, t, response_port_request(0))->code(), 400);
  // Over TCP the answer can only go back on the connection: 420.
  const FiveTuple tcp{ep("203.0.113.50:40000"), kA1P1, Transport::kTcp};
  out = ask(f, tcp, response_port_request(0x13880000));
  EXPECT_EQ(out->code(), 420);
  EXPECT_EQ(out->to, tcp.client);
}

TEST(Binding, WhatIsNotARequest) {
  Fixture f;
  const auto t = f.tuple("203.0.113.50:61000");
  // A Binding indication is a keepalive: no answer, not a drop.
  std::vector<uint8_t> buf(64);
  StunBuilder ind(buf, StunMethod::kBinding, StunClass::kIndication, wire::TransactionId{});
  EXPECT_FALSE(ask(f, t, std::vector<uint8_t>(buf.begin(), buf.begin() + ind.size())));
  EXPECT_EQ(f.server->counters().drops, decltype(f.server->counters().drops){});
  // A success response, a Data indication from a client: unexpected.
  StunBuilder resp(buf, StunMethod::kBinding, StunClass::kSuccess, wire::TransactionId{});
  EXPECT_FALSE(ask(f, t, std::vector<uint8_t>(buf.begin(), buf.begin() + resp.size())));
  StunBuilder data(buf, StunMethod::kData, StunClass::kIndication, wire::TransactionId{});
  EXPECT_FALSE(ask(f, t, std::vector<uint8_t>(buf.begin(), buf.begin() + data.size())));
  EXPECT_EQ(f.drops(RelayDrop::kUnexpectedMessage), 2u);
  // An unknown method is answered 400.
  StunBuilder odd(buf, static_cast<StunMethod>(0x0FF), StunClass::kRequest, wire::TransactionId{});
  auto out = ask(f, t, std::vector<uint8_t>(buf.begin(), buf.begin() + odd.size()));
  EXPECT_EQ(out->code(), 400);
  EXPECT_EQ(f.drops(RelayDrop::kUnexpectedMessage), 3u);
  // Garbage, a bad fingerprint: malformed, no answer.
  EXPECT_FALSE(ask(f, t, bytes_of("GET / HTTP/1.1\r\n\r\n")));
  auto bent = binding_request();
  bent[bent.size() - 1] ^= 1;
  EXPECT_FALSE(ask(f, t, bent));
  EXPECT_EQ(f.drops(RelayDrop::kMalformed), 2u);
}

}  // namespace
}  // namespace tern::relay::test

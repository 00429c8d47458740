// Allocate and Refresh as timelines: what an allocation gets, what a second one
// on the same 5-tuple gets (437), quotas (486), capacity (508), lifetimes
// (clamped, refreshed, deleted with 0, expired by the clock), and that every
// relay socket the core opened is closed again.
#include "relay_test_util.hpp"

namespace tern::relay::test {
namespace {

AddAttributes transport_udp() {
  return [](StunBuilder& b) { b.add_requested_transport(); };
}

TEST(Allocate, SecondAllocateOnTheSameFiveTupleIs437) {
  Fixture f;
  auto c = f.client();
  c.allocate(at(0));
  auto out = c.request(StunMethod::kAllocate, transport_udp(), at(1));
  ASSERT_TRUE(out);
  EXPECT_EQ(out->code(), 437);
  EXPECT_EQ(c.check(*out), wire::StunCheck::kValid);
  EXPECT_EQ(f.drops(RelayDrop::kAllocationMismatch), 1u);
  EXPECT_EQ(f.server->allocation_count(), 1u);
  EXPECT_EQ(f.ports.requests.size(), 1u);
}

TEST(Allocate, RetransmittedAllocateGetsTheSameAnswer) {
  Fixture f;
  auto c = f.client();
  (void)c.send(c.build(StunMethod::kAllocate, transport_udp()), at(0));  // 401, learn the nonce
  const auto id = c.new_id();
  const auto request =
      c.build(StunMethod::kAllocate, transport_udp(), true, StunClass::kRequest, id);
  auto first = c.send(request, at(0));
  auto again = c.send(request, at(0.5));
  ASSERT_TRUE(first && again);
  ASSERT_TRUE(first->is_success());
  ASSERT_TRUE(again->is_success());
  EXPECT_EQ(first->xor_address(StunAttr::kXorRelayedAddress),
            again->xor_address(StunAttr::kXorRelayedAddress));
  EXPECT_EQ(again->u32(StunAttr::kLifetime), 599u);
  EXPECT_EQ(f.ports.requests.size(), 1u);
  EXPECT_EQ(f.server->counters().allocations_total, 1u);
}

TEST(Allocate, OtherFiveTuplesAreOtherAllocations) {
  Fixture f;
  auto a = f.client("203.0.113.10:40000");
  auto b = f.client("203.0.113.10:40001");
  auto tcp = f.client("203.0.113.10:40000", "alice", "alice-pass", Transport::kTcp);
  EXPECT_EQ(a.allocate(at(0)).port, 50000);
  EXPECT_EQ(b.allocate(at(0)).port, 50001);
  EXPECT_EQ(tcp.allocate(at(0)).port, 50002);
  EXPECT_EQ(f.server->allocation_count(), 3u);
  EXPECT_EQ(f.server->counters().allocations_current, 3u);
}

TEST(Allocate, RequestedTransportMustBeUdp) {
  Fixture f;
  auto c = f.client();
  auto out = c.request(StunMethod::kAllocate, {}, at(0));
  EXPECT_EQ(out->code(), 400);
  out = c.request(
      StunMethod::kAllocate, [](StunBuilder& b) { b.add_requested_transport(wire::kProtocolTcp); },
      at(0));
  EXPECT_EQ(out->code(), 442);
  EXPECT_EQ(c.check(*out), wire::StunCheck::kValid);
  EXPECT_EQ(f.drops(RelayDrop::kUnsupported), 1u);
  EXPECT_EQ(f.drops(RelayDrop::kMalformed), 1u);
  EXPECT_EQ(f.server->allocation_count(), 0u);
}

TEST(Allocate, AddressFamilies) {
  auto config = test_config();
  config.relay_ipv6 = false;
  Fixture f(config);
  auto c = f.client();
  auto out = c.request(
      StunMethod::kAllocate,
      [](StunBuilder& b) {
        b.add_requested_transport();
        b.add_address_family(IpAddress::Family::kV6);
      },
      at(0));
  EXPECT_EQ(out->code(), 440);
  // An unknown family value is 440 as well; a value of the wrong size is malformed.
  out = c.request(
      StunMethod::kAllocate,
      [](StunBuilder& b) {
        b.add_requested_transport();
        b.add_u32(StunAttr::kRequestedAddressFamily, 0x07000000);
      },
      at(0));
  EXPECT_EQ(out->code(), 440);
  out = c.request(
      StunMethod::kAllocate,
      [](StunBuilder& b) {
        b.add_requested_transport();
        const uint8_t two[2] = {1, 0};
        b.add(StunAttr::kRequestedAddressFamily, two);
      },
      at(0));
  EXPECT_EQ(out->code(), 400);
  EXPECT_EQ(f.drops(RelayDrop::kUnsupported), 2u);

  Fixture g;
  auto v6 = g.client();
  const auto relayed =
      v6.allocate(at(0), [](StunBuilder& b) { b.add_address_family(IpAddress::Family::kV6); });
  EXPECT_EQ(relayed, ep("[2001:db8::1]:50000"));
  // A Refresh naming the other family is refused (443).
  auto refresh = v6.request(
      StunMethod::kRefresh, [](StunBuilder& b) { b.add_address_family(IpAddress::Family::kV4); },
      at(1));
  EXPECT_EQ(refresh->code(), 443);
}

TEST(Allocate, DontFragmentReachesTheIoLayer) {
  Fixture f;
  auto c = f.client();
  c.allocate(at(0), [](StunBuilder& b) { b.add_dont_fragment(); });
  ASSERT_EQ(f.ports.requests.size(), 1u);
  EXPECT_TRUE(f.ports.requests[0].dont_fragment);
  EXPECT_EQ(f.ports.requests[0].client, c.tuple());
}

std::optional<Sent> allocate_with(TestClient& c, const AddAttributes& extra, Instant now) {
  return c.request(
      StunMethod::kAllocate,
      [&](StunBuilder& b) {
        b.add_requested_transport();
        extra(b);
      },
      now);
}

TEST(Allocate, EvenPortGetsAnEvenPort) {
  Fixture f;
  f.ports.next_port = 50001;
  auto c = f.client();
  const uint8_t even[1] = {0x00};
  auto out = allocate_with(
      c, [&](StunBuilder& b) { b.add(StunAttr::kEvenPort, even); }, at(0));
  ASSERT_TRUE(out && out->is_success()) << out->reason();
  ASSERT_EQ(f.ports.requests.size(), 1u);
  EXPECT_TRUE(f.ports.requests[0].even_port);
  EXPECT_EQ(out->xor_address(StunAttr::kXorRelayedAddress)->port, 50002);
  EXPECT_FALSE(out->msg().find(StunAttr::kReservationToken));
  // Without EVEN-PORT any port will do, and the I/O layer is not asked for an even one.
  auto d = f.client("203.0.113.10:40001");
  EXPECT_EQ(d.allocate(at(0)).port, 50003);
  EXPECT_FALSE(f.ports.requests[1].even_port);
}

TEST(Allocate, OddPortForEvenPortIsClosedAgainAnd508) {
  Fixture f;
  f.ports.next_port = 50001;
  f.ports.odd_for_even = true;
  auto c = f.client();
  const uint8_t even[1] = {0x00};
  auto out = allocate_with(
      c, [&](StunBuilder& b) { b.add(StunAttr::kEvenPort, even); }, at(0));
  ASSERT_TRUE(out);
  EXPECT_EQ(out->code(), 508);
  EXPECT_TRUE(f.ports.open_ports.empty());
  EXPECT_EQ(f.server->allocation_count(), 0u);
}

TEST(Allocate, ReservationsAreNotOffered) {
  Fixture f;
  auto c = f.client();
  // The R bit asks to hold the next port: 508, and nothing is opened.
  const uint8_t reserve[1] = {0x80};
  auto out = allocate_with(
      c, [&](StunBuilder& b) { b.add(StunAttr::kEvenPort, reserve); }, at(0));
  ASSERT_TRUE(out);
  EXPECT_EQ(out->code(), 508);
  EXPECT_NE(out->reason().find("reservation"), std::string::npos) << out->reason();
  EXPECT_EQ(c.check(*out), wire::StunCheck::kValid);
  // A RESERVATION-TOKEN names nothing tern holds: 508.
  const uint8_t token[8] = {1, 2, 3, 4, 5, 6, 7, 8};
  out = allocate_with(
      c, [&](StunBuilder& b) { b.add(StunAttr::kReservationToken, token); }, at(0));
  ASSERT_TRUE(out);
  EXPECT_EQ(out->code(), 508);
  // Both together are a malformed request (RFC 8656 §7.2): 400.
  const uint8_t even[1] = {0x00};
  out = allocate_with(
      c,
      [&](StunBuilder& b) {
        b.add(StunAttr::kEvenPort, even);
        b.add(StunAttr::kReservationToken, token);
      },
      at(0));
  ASSERT_TRUE(out);
  EXPECT_EQ(out->code(), 400);
  // An empty EVEN-PORT is malformed: 400.
  out = allocate_with(
      c, [&](StunBuilder& b) { b.add(StunAttr::kEvenPort, Bytes{}); }, at(0));
  ASSERT_TRUE(out);
  EXPECT_EQ(out->code(), 400);
  EXPECT_TRUE(f.ports.requests.empty());
  EXPECT_EQ(f.server->allocation_count(), 0u);
  EXPECT_EQ(f.drops(RelayDrop::kUnsupported), 2u);
  // The client can still allocate without them.
  c.allocate(at(1));
  EXPECT_EQ(f.server->allocation_count(), 1u);
}

TEST(Allocate, UnknownComprehensionRequiredAttributeIs420) {
  Fixture f;
  auto c = f.client();
  auto out = c.request(
      StunMethod::kAllocate,
      [](StunBuilder& b) {
        b.add_requested_transport();
        const uint8_t v[4] = {};
        b.add(uint16_t{0x7777}, v);
        b.add(uint16_t{0xC777}, v);  // comprehension-optional: ignored
      },
      at(0));
  EXPECT_EQ(out->code(), 420);
  auto list = wire::decode_unknown_attributes(out->msg().find(StunAttr::kUnknownAttributes)->value);
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ((*list)[0], 0x7777);
  EXPECT_EQ(f.drops(RelayDrop::kUnknownAttribute), 1u);
}

TEST(Allocate, PerUserQuotaIs486) {
  auto config = test_config();
  config.user_quota = 2;
  Fixture f(config);
  auto a1 = f.client("203.0.113.10:1");
  auto a2 = f.client("203.0.113.10:2");
  auto a3 = f.client("203.0.113.10:3");
  auto b1 = f.client("203.0.113.20:1", "bob", "bob-pass");
  a1.allocate(at(0));
  a2.allocate(at(0));
  auto out = a3.request(StunMethod::kAllocate, transport_udp(), at(0));
  ASSERT_TRUE(out);
  EXPECT_EQ(out->code(), 486);
  EXPECT_EQ(a3.check(*out), wire::StunCheck::kValid);
  EXPECT_EQ(f.drops(RelayDrop::kQuota), 1u);
  b1.allocate(at(0));  // another user is not affected
  // When one of alice's allocations ends, she may make another.
  ASSERT_TRUE(a1.refresh(0, at(1))->is_success());
  EXPECT_TRUE(a3.request(StunMethod::kAllocate, transport_udp(), at(2))->is_success());
}

TEST(Allocate, RestQuotaCountsTheNameNotTheExpiry) {
  auto config = test_config();
  config.user_quota = 1;
  Fixture f(config);
  const std::string u1 = std::to_string(kUnixT0 + 100) + ":peer-a";
  const std::string u2 = std::to_string(kUnixT0 + 200) + ":peer-a";
  auto c1 = f.client("203.0.113.10:1", u1, rest_password(kSecret, u1));
  auto c2 = f.client("203.0.113.10:2", u2, rest_password(kSecret, u2));
  c1.allocate(at(0));
  EXPECT_EQ(c2.request(StunMethod::kAllocate, transport_udp(), at(0))->code(), 486);
}

TEST(Allocate, TotalQuotaIs486) {
  auto config = test_config();
  config.max_allocations = 2;
  config.user_quota = 0;
  Fixture f(config);
  f.client("203.0.113.10:1").allocate(at(0));
  f.client("203.0.113.10:2", "bob", "bob-pass").allocate(at(0));
  auto c = f.client("203.0.113.10:3");
  EXPECT_EQ(c.request(StunMethod::kAllocate, transport_udp(), at(0))->code(), 486);
  EXPECT_EQ(f.server->allocation_count(), 2u);
}

TEST(Allocate, NoFreeRelayPortIs508) {
  Fixture f;
  f.ports.capacity = 1;
  f.client("203.0.113.10:1").allocate(at(0));
  auto c = f.client("203.0.113.10:2");
  auto out = c.request(StunMethod::kAllocate, transport_udp(), at(0));
  EXPECT_EQ(out->code(), 508);
  EXPECT_EQ(f.drops(RelayDrop::kCapacity), 1u);
  EXPECT_EQ(f.server->allocation_count(), 1u);
}

// An I/O layer that answers with an address already in use is not trusted.
TEST(Allocate, DuplicateRelayAddressFromTheIoLayerIsClosedAgain) {
  Fixture f;
  f.client("203.0.113.10:1").allocate(at(0));
  f.ports.next_port = 50000;
  auto c = f.client("203.0.113.10:2");
  EXPECT_EQ(c.request(StunMethod::kAllocate, transport_udp(), at(0))->code(), 508);
  EXPECT_EQ(f.ports.open_ports.size(), 1u);
}

TEST(Allocate, LifetimeIsClampedBetweenDefaultAndMaximum) {
  Fixture f;
  auto c = f.client("203.0.113.10:1");
  auto out = c.request(
      StunMethod::kAllocate,
      [](StunBuilder& b) { b.add_requested_transport().add_lifetime(100000); }, at(0));
  EXPECT_EQ(out->u32(StunAttr::kLifetime), 3600u);
  auto d = f.client("203.0.113.10:2");
  out = d.request(
      StunMethod::kAllocate, [](StunBuilder& b) { b.add_requested_transport().add_lifetime(30); },
      at(0));
  EXPECT_EQ(out->u32(StunAttr::kLifetime), 600u);
  auto e = f.client("203.0.113.10:3");
  out = e.request(
      StunMethod::kAllocate, [](StunBuilder& b) { b.add_requested_transport().add_lifetime(1200); },
      at(0));
  EXPECT_EQ(out->u32(StunAttr::kLifetime), 1200u);
  EXPECT_EQ(c.refresh(7200, at(1))->u32(StunAttr::kLifetime), 3600u);
  EXPECT_EQ(c.refresh(std::nullopt, at(1))->u32(StunAttr::kLifetime), 600u);
}

TEST(Allocate, RefreshExtendsAndExpiryEndsTheAllocation) {
  Fixture f;
  auto c = f.client();
  const auto relayed = c.allocate(at(0));
  ASSERT_TRUE(f.server->poll_timeout());
  EXPECT_LE(*f.server->poll_timeout(), at(600));

  // Refreshed at 500 s for another 600 s: alive at 1099 s, gone at 1100 s.
  ASSERT_TRUE(c.refresh(600, at(500))->is_success());
  for (double t = 0; t < 1099; t += 7) {
    if (auto next = f.server->poll_timeout(); next && *next <= at(t))
      f.server->handle_timeout(at(t));
  }
  EXPECT_EQ(f.server->allocation_count(), 1u);
  EXPECT_TRUE(f.server->allocation(c.tuple(), at(1099)));
  EXPECT_TRUE(f.ports.closed.empty());

  ASSERT_TRUE(f.server->poll_timeout());
  f.server->handle_timeout(std::max(*f.server->poll_timeout(), at(1100)));
  EXPECT_EQ(f.server->allocation_count(), 0u);
  ASSERT_EQ(f.ports.closed.size(), 1u);
  EXPECT_EQ(f.ports.closed[0], relayed);
  EXPECT_EQ(f.server->counters().allocations_expired, 1u);
  EXPECT_EQ(f.server->counters().allocations_current, 0u);
  EXPECT_FALSE(f.server->poll_timeout());
  // A Refresh after expiry finds nothing (437).
  EXPECT_EQ(c.refresh(600, at(1101))->code(), 437);
  EXPECT_EQ(f.drops(RelayDrop::kNoAllocation), 1u);
}

TEST(Allocate, ExpiredAllocationIsGoneEvenBeforeTheTimerRuns) {
  Fixture f;
  auto c = f.client();
  c.allocate(at(0));
  // No handle_timeout call at all: the next request still sees it expired.
  EXPECT_EQ(c.refresh(600, at(600))->code(), 437);
  EXPECT_EQ(f.ports.closed.size(), 1u);
  // And a new Allocate on the same 5-tuple works.
  EXPECT_TRUE(c.request(StunMethod::kAllocate, transport_udp(), at(601))->is_success());
}

TEST(Allocate, RefreshZeroDeletes) {
  Fixture f;
  auto c = f.client();
  const auto relayed = c.allocate(at(0));
  auto out = c.refresh(0, at(10));
  ASSERT_TRUE(out && out->is_success());
  EXPECT_EQ(out->u32(StunAttr::kLifetime), 0u);
  EXPECT_EQ(c.check(*out), wire::StunCheck::kValid);
  EXPECT_EQ(f.server->allocation_count(), 0u);
  ASSERT_EQ(f.ports.closed.size(), 1u);
  EXPECT_EQ(f.ports.closed[0], relayed);
  EXPECT_EQ(f.server->counters().allocations_expired, 0u);
  EXPECT_EQ(c.refresh(0, at(11))->code(), 437);
}

TEST(Allocate, ClosedConnectionEndsItsAllocation) {
  Fixture f;
  auto c = f.client("203.0.113.10:40000", "alice", "alice-pass", Transport::kTls);
  c.allocate(at(0));
  f.server->connection_closed(c.tuple());
  EXPECT_EQ(f.server->allocation_count(), 0u);
  EXPECT_EQ(f.ports.closed.size(), 1u);
  f.server->connection_closed(c.tuple());  // twice is harmless
}

TEST(Allocate, DestroyingTheServerClosesEverySocket) {
  FakePorts ports;
  {
    auto made = RelayServer::create(test_config(), ports, test_nonce_key());
    ASSERT_TRUE(made);
    TestClient a(**made, FiveTuple{ep("203.0.113.10:1"), kListener, Transport::kUdp}, "alice",
                 "alice-pass");
    TestClient b(**made, FiveTuple{ep("203.0.113.10:2"), kListener, Transport::kUdp}, "bob",
                 "bob-pass");
    a.allocate(at(0));
    b.allocate(at(0));
    EXPECT_EQ(ports.open_ports.size(), 2u);
  }
  EXPECT_TRUE(ports.open_ports.empty());
}

}  // namespace
}  // namespace tern::relay::test

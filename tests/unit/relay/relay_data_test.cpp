// The relayed data as timelines: permissions before data flows (and their 300 s
// expiry), Send and Data indications, channel binding and ChannelData in both
// directions (and the rebinding rules), over UDP and TCP, and the rate limit.
#include "relay_test_util.hpp"

namespace tern::relay::test {
namespace {

const Endpoint kPeer = ep("192.0.2.200:7000");
const Endpoint kPeerOtherPort = ep("192.0.2.200:7001");
const Endpoint kPeer2 = ep("198.51.100.77:9000");

struct Allocated : Fixture {
  explicit Allocated(RelayConfig config = test_config(), Transport transport = Transport::kUdp)
      : Fixture(std::move(config)),
        c(client("203.0.113.10:40000", "alice", "alice-pass", transport)) {
    relayed = c.allocate(at(0));
  }
  TestClient c;
  Endpoint relayed;
};

// The Data indication a client receives: peer and payload.
std::pair<Endpoint, std::vector<uint8_t>> data_indication(const Sent& s) {
  auto m = s.msg();
  EXPECT_TRUE(m.is(StunMethod::kData, StunClass::kIndication));
  auto peer =
      wire::decode_xor_address(m.find(StunAttr::kXorPeerAddress)->value, m.transaction_id());
  auto data = m.find(StunAttr::kData)->value;
  return {*peer, std::vector<uint8_t>(data.begin(), data.end())};
}

TEST(RelayData, PermissionIsNeededBeforeDataFlows) {
  Allocated f;
  const auto hello = bytes_of("hello peer");
  // Without a permission nothing passes, either way.
  EXPECT_FALSE(f.c.send_indication(kPeer, hello, at(1)));
  EXPECT_FALSE(from_peer(*f.server, f.relayed, kPeer, bytes_of("hi"), at(1)));
  EXPECT_EQ(f.drops(RelayDrop::kNoPermission), 2u);

  auto out = f.c.create_permission({kPeer}, at(2));
  ASSERT_TRUE(out && out->is_success()) << out->reason();
  EXPECT_EQ(f.c.check(*out), wire::StunCheck::kValid);

  auto sent = f.c.send_indication(kPeer, hello, at(3));
  ASSERT_TRUE(sent);
  EXPECT_EQ(sent->source, Transmit::Source::kRelay);
  EXPECT_EQ(sent->transport, Transport::kUdp);
  EXPECT_EQ(sent->from, f.relayed);
  EXPECT_EQ(sent->to, kPeer);
  EXPECT_EQ(sent->data, hello);

  // The permission is for the IP: any port of the peer may answer.
  auto back = from_peer(*f.server, f.relayed, kPeerOtherPort, bytes_of("hi"), at(4));
  ASSERT_TRUE(back);
  EXPECT_EQ(back->source, Transmit::Source::kListener);
  EXPECT_EQ(back->from, kListener);
  EXPECT_EQ(back->to, f.c.tuple().client);
  auto [peer, data] = data_indication(*back);
  EXPECT_EQ(peer, kPeerOtherPort);
  EXPECT_EQ(data, bytes_of("hi"));

  // Another IP still has none.
  EXPECT_FALSE(from_peer(*f.server, f.relayed, kPeer2, bytes_of("x"), at(5)));
  EXPECT_EQ(f.drops(RelayDrop::kNoPermission), 3u);

  const auto& c = f.server->counters();
  EXPECT_EQ(c.to_peer.packets, 1u);
  EXPECT_EQ(c.to_peer.bytes, hello.size());
  EXPECT_EQ(c.to_client.packets, 1u);
  EXPECT_EQ(c.to_client.bytes, 2u);
}

TEST(RelayData, PermissionExpiresAfter300Seconds) {
  Allocated f;
  ASSERT_TRUE(f.c.create_permission({kPeer}, at(10))->is_success());
  EXPECT_TRUE(f.c.send_indication(kPeer, bytes_of("a"), at(309.9)));
  EXPECT_TRUE(from_peer(*f.server, f.relayed, kPeer, bytes_of("b"), at(309.9)));
  EXPECT_FALSE(f.c.send_indication(kPeer, bytes_of("a"), at(310)));
  EXPECT_FALSE(from_peer(*f.server, f.relayed, kPeer, bytes_of("b"), at(310)));
  EXPECT_EQ(f.drops(RelayDrop::kNoPermission), 2u);

  // Refreshing before the end keeps it: created at 400, refreshed at 650, alive at 949.
  ASSERT_TRUE(f.c.refresh(3600, at(399))->is_success());
  ASSERT_TRUE(f.c.create_permission({kPeer}, at(400))->is_success());
  ASSERT_TRUE(f.c.create_permission({kPeer}, at(650))->is_success());
  EXPECT_TRUE(f.c.send_indication(kPeer, bytes_of("a"), at(949)));
  EXPECT_FALSE(f.c.send_indication(kPeer, bytes_of("a"), at(951)));
  auto info = f.server->allocation(f.c.tuple(), at(951));
  ASSERT_TRUE(info);
  EXPECT_EQ(info->permissions, 0u);
}

TEST(RelayData, CreatePermissionWithSeveralPeersIsAllOrNothing) {
  Allocated f;
  auto out = f.c.create_permission({kPeer, ep("10.0.0.1:1"), kPeer2}, at(1));
  EXPECT_EQ(out->code(), 403);
  EXPECT_FALSE(f.c.send_indication(kPeer, bytes_of("a"), at(2)));
  out = f.c.create_permission({kPeer, kPeer2, kPeer}, at(3));
  ASSERT_TRUE(out->is_success());
  EXPECT_TRUE(f.c.send_indication(kPeer, bytes_of("a"), at(4)));
  EXPECT_TRUE(f.c.send_indication(kPeer2, bytes_of("a"), at(4)));
  EXPECT_EQ(f.server->allocation(f.c.tuple(), at(4))->permissions, 2u);
}

TEST(RelayData, CreatePermissionNeedsAPeerOfTheAllocationsFamily) {
  Allocated f;
  EXPECT_EQ(f.c.create_permission({}, at(1))->code(), 400);
  auto out = f.c.create_permission({ep("[2001:db8::5]:1")}, at(1));
  EXPECT_EQ(out->code(), 443);
  EXPECT_EQ(f.drops(RelayDrop::kPeerFamilyMismatch), 1u);
}

TEST(RelayData, PermissionTableIsBounded) {
  auto config = test_config();
  config.max_permissions = 3;
  Allocated f(config);
  ASSERT_TRUE(
      f.c.create_permission({ep("192.0.2.201:1"), ep("192.0.2.202:1")}, at(1))->is_success());
  EXPECT_EQ(f.c.create_permission({ep("192.0.2.203:1"), ep("192.0.2.204:1")}, at(2))->code(), 508);
  EXPECT_EQ(f.drops(RelayDrop::kCapacity), 1u);
  // Refreshing the existing ones and adding one more fits.
  EXPECT_TRUE(
      f.c.create_permission({ep("192.0.2.201:1"), ep("192.0.2.202:1"), ep("192.0.2.203:1")}, at(3))
          ->is_success());
  // Once they expire, there is room again.
  EXPECT_TRUE(f.c.create_permission({ep("192.0.2.204:1")}, at(304))->is_success());
}

TEST(RelayData, ChannelDataBothWays) {
  Allocated f;
  auto out = f.c.channel_bind(0x4000, kPeer, at(1));
  ASSERT_TRUE(out && out->is_success()) << out->reason();
  EXPECT_EQ(f.c.check(*out), wire::StunCheck::kValid);

  // Client -> peer: the payload of the ChannelData, from the relayed address.
  const auto payload = bytes_of("wireguard packet");
  auto sent = f.c.channel_data(0x4000, payload, at(2));
  ASSERT_TRUE(sent);
  EXPECT_EQ(sent->source, Transmit::Source::kRelay);
  EXPECT_EQ(sent->from, f.relayed);
  EXPECT_EQ(sent->to, kPeer);
  EXPECT_EQ(sent->data, payload);

  // Peer -> client: ChannelData, since the channel is bound to exactly this peer address.
  auto back = from_peer(*f.server, f.relayed, kPeer, bytes_of("reply!"), at(3));
  ASSERT_TRUE(back);
  auto view = wire::parse_channel_data(back->data);
  ASSERT_TRUE(view);
  EXPECT_EQ(view->channel, 0x4000);
  EXPECT_EQ(std::vector<uint8_t>(view->data.begin(), view->data.end()), bytes_of("reply!"));
  EXPECT_EQ(back->data.size(), 4u + 6u);  // unpadded over UDP

  // The same IP from another port has the permission but no channel: a Data indication.
  back = from_peer(*f.server, f.relayed, kPeerOtherPort, bytes_of("other"), at(3));
  ASSERT_TRUE(back && back->is_stun());
  EXPECT_EQ(data_indication(*back).first, kPeerOtherPort);

  // Unbound channels (in either RFC's range) and malformed ChannelData are dropped.
  EXPECT_FALSE(f.c.channel_data(0x4001, payload, at(4)));
  EXPECT_EQ(f.drops(RelayDrop::kNoChannel), 1u);
  EXPECT_FALSE(f.c.channel_data(0x7FFF, payload, at(4)));
  EXPECT_EQ(f.drops(RelayDrop::kNoChannel), 2u);
  std::vector<uint8_t> too_long = {0x40, 0x00, 0x00, 0x05, 0x01};
  EXPECT_FALSE(f.c.send(too_long, at(4)));
  EXPECT_EQ(f.drops(RelayDrop::kMalformed), 1u);

  // ChannelData from a 5-tuple without an allocation.
  auto stranger = f.client("203.0.113.99:1");
  EXPECT_FALSE(stranger.channel_data(0x4000, payload, at(5)));
  EXPECT_EQ(f.drops(RelayDrop::kNoAllocation), 1u);
}

TEST(RelayData, Rfc5766ChannelNumbersWorkBothWays) {
  // RFC 8656 reserves 0x5000-0x7FFF; RFC 5766 clients such as coturn's uclient bind them.
  Allocated f;
  for (const uint16_t number : {uint16_t{0x5000}, uint16_t{0x7FFF}}) {
    const Endpoint peer{kPeer.address, static_cast<uint16_t>(number - 0x4000)};
    auto out = f.c.channel_bind(number, peer, at(1));
    ASSERT_TRUE(out && out->is_success()) << out->reason();
    auto sent = f.c.channel_data(number, bytes_of("to peer"), at(2));
    ASSERT_TRUE(sent);
    EXPECT_EQ(sent->to, peer);
    EXPECT_EQ(sent->data, bytes_of("to peer"));
    auto back = from_peer(*f.server, f.relayed, peer, bytes_of("to client"), at(3));
    ASSERT_TRUE(back);
    auto view = wire::parse_channel_data(back->data, wire::ChannelRange::kRfc5766);
    ASSERT_TRUE(view);
    EXPECT_EQ(view->channel, number);
    EXPECT_EQ(std::vector<uint8_t>(view->data.begin(), view->data.end()), bytes_of("to client"));
  }
}

TEST(RelayData, ChannelDataOverTcpIsPadded) {
  Allocated f(test_config(), Transport::kTcp);
  ASSERT_TRUE(f.c.channel_bind(0x4ABC, kPeer, at(1))->is_success());
  auto back = from_peer(*f.server, f.relayed, kPeer, bytes_of("12345"), at(2));
  ASSERT_TRUE(back);
  EXPECT_EQ(back->transport, Transport::kTcp);
  ASSERT_EQ(back->data.size(), 12u);  // 4 + 5, padded to 8
  EXPECT_EQ(back->data[9], 0);
  EXPECT_EQ(back->data[10], 0);
  EXPECT_EQ(back->data[11], 0);
  auto view = wire::parse_channel_data(back->data);
  ASSERT_TRUE(view);
  EXPECT_EQ(view->data.size(), 5u);
}

TEST(RelayData, DataIndicationCarriesAnIpv6Peer) {
  Fixture f;
  auto c = f.client();
  const auto relayed =
      c.allocate(at(0), [](StunBuilder& b) { b.add_address_family(IpAddress::Family::kV6); });
  const auto peer = ep("[2001:db8:77::1]:5000");
  ASSERT_TRUE(c.create_permission({peer}, at(1))->is_success());
  auto back = from_peer(*f.server, relayed, peer, bytes_of("v6 data"), at(2));
  ASSERT_TRUE(back);
  auto [from, data] = data_indication(*back);
  EXPECT_EQ(from, peer);
  EXPECT_EQ(data, bytes_of("v6 data"));
}

TEST(RelayData, ChannelBindingLastsTenMinutes) {
  Allocated f;
  ASSERT_TRUE(f.c.refresh(3600, at(1))->is_success());
  ASSERT_TRUE(f.c.channel_bind(0x4000, kPeer, at(10))->is_success());
  // Keep the permission alive with CreatePermission; the channel is not refreshed.
  ASSERT_TRUE(f.c.create_permission({kPeer}, at(300))->is_success());
  ASSERT_TRUE(f.c.create_permission({kPeer}, at(550))->is_success());
  EXPECT_TRUE(f.c.channel_data(0x4000, bytes_of("x"), at(609.9)));
  EXPECT_FALSE(f.c.channel_data(0x4000, bytes_of("x"), at(610)));
  EXPECT_EQ(f.drops(RelayDrop::kNoChannel), 1u);
  // The peer's data now comes as Data indications.
  auto back = from_peer(*f.server, f.relayed, kPeer, bytes_of("y"), at(611));
  ASSERT_TRUE(back && back->is_stun());
}

TEST(RelayData, ChannelRebindingRules) {
  Allocated f;
  ASSERT_TRUE(f.c.refresh(3600, at(1))->is_success());
  ASSERT_TRUE(f.c.channel_bind(0x4000, kPeer, at(10))->is_success());
  // Refreshing the same binding is fine.
  ASSERT_TRUE(f.c.channel_bind(0x4000, kPeer, at(20))->is_success());
  // The number to another peer, or the peer to another number: 400.
  EXPECT_EQ(f.c.channel_bind(0x4000, kPeer2, at(30))->code(), 400);
  EXPECT_EQ(f.c.channel_bind(0x4001, kPeer, at(30))->code(), 400);
  EXPECT_EQ(f.drops(RelayDrop::kChannelConflict), 2u);
  // Out of range numbers: 400.
  EXPECT_EQ(f.c.channel_bind(0x3FFF, kPeer2, at(30))->code(), 400);
  EXPECT_EQ(f.c.channel_bind(0x8000, kPeer2, at(30))->code(), 400);
  EXPECT_EQ(f.c.channel_bind(0xFFFF, kPeer2, at(30))->code(), 400);
  // The binding expires at 620 s; its number and peer stay reserved for 5 more minutes.
  EXPECT_EQ(f.c.channel_bind(0x4000, kPeer2, at(700))->code(), 400);
  EXPECT_EQ(f.c.channel_bind(0x4001, kPeer, at(919))->code(), 400);
  // After the reuse delay, new pairings are allowed.
  EXPECT_TRUE(f.c.channel_bind(0x4000, kPeer2, at(920))->is_success());
  EXPECT_TRUE(f.c.channel_bind(0x4001, kPeer, at(921))->is_success());
  EXPECT_EQ(f.c.channel_bind(0x4001, kPeer2, at(922))->code(), 400);
}

TEST(RelayData, ExpiredChannelCanBeBoundAgainToTheSamePeer) {
  Allocated f;
  ASSERT_TRUE(f.c.refresh(3600, at(1))->is_success());
  ASSERT_TRUE(f.c.channel_bind(0x4000, kPeer, at(10))->is_success());
  EXPECT_FALSE(f.c.channel_data(0x4000, bytes_of("x"), at(700)));
  ASSERT_TRUE(f.c.channel_bind(0x4000, kPeer, at(700))->is_success());
  EXPECT_TRUE(f.c.channel_data(0x4000, bytes_of("x"), at(701)));
}

TEST(RelayData, ChannelTableIsBounded) {
  auto config = test_config();
  config.max_channels = 2;
  Allocated f(config);
  ASSERT_TRUE(f.c.channel_bind(0x4000, ep("192.0.2.201:1"), at(1))->is_success());
  ASSERT_TRUE(f.c.channel_bind(0x4001, ep("192.0.2.202:1"), at(1))->is_success());
  EXPECT_EQ(f.c.channel_bind(0x4002, ep("192.0.2.203:1"), at(1))->code(), 508);
  EXPECT_TRUE(f.c.channel_bind(0x4001, ep("192.0.2.202:1"), at(2))->is_success());
}

TEST(RelayData, ChannelBindInstallsThePermission) {
  Allocated f;
  ASSERT_TRUE(f.c.channel_bind(0x4000, kPeer, at(1))->is_success());
  EXPECT_TRUE(f.c.send_indication(kPeerOtherPort, bytes_of("a"), at(2)));
  // The permission lasts 300 s, the channel 600 s: without a CreatePermission the
  // channel carries nothing after 301 s (RFC 8656 §12: refresh both).
  EXPECT_FALSE(f.c.channel_data(0x4000, bytes_of("x"), at(302)));
  EXPECT_EQ(f.drops(RelayDrop::kNoPermission), 1u);
}

TEST(RelayData, SendIndicationEdgeCases) {
  Allocated f;
  ASSERT_TRUE(f.c.create_permission({kPeer}, at(1))->is_success());
  // No DATA, no XOR-PEER-ADDRESS: malformed.
  EXPECT_FALSE(
      f.c.send(f.c.build(
                   StunMethod::kSend,
                   [](StunBuilder& b) { b.add_xor_address(StunAttr::kXorPeerAddress, kPeer); },
                   false, StunClass::kIndication),
               at(2)));
  EXPECT_EQ(f.drops(RelayDrop::kMalformed), 1u);
  // An IPv6 peer on an IPv4 allocation.
  EXPECT_FALSE(f.c.send_indication(ep("[2001:db8::9]:1"), bytes_of("a"), at(2)));
  EXPECT_EQ(f.drops(RelayDrop::kPeerFamilyMismatch), 1u);
  // An unknown comprehension-required attribute in an indication: dropped silently.
  EXPECT_FALSE(f.c.send(f.c.build(
                            StunMethod::kSend,
                            [](StunBuilder& b) {
                              b.add_xor_address(StunAttr::kXorPeerAddress, kPeer);
                              b.add_data(bytes_of("a"));
                              const uint8_t v[4] = {};
                              b.add(uint16_t{0x7001}, v);
                            },
                            false, StunClass::kIndication),
                        at(2)));
  EXPECT_EQ(f.drops(RelayDrop::kUnknownAttribute), 1u);
  // A Send from a 5-tuple without an allocation.
  auto stranger = f.client("203.0.113.99:1");
  EXPECT_FALSE(stranger.send_indication(kPeer, bytes_of("a"), at(2)));
  EXPECT_EQ(f.drops(RelayDrop::kNoAllocation), 1u);
  // An empty payload is relayed as an empty datagram.
  auto empty = f.c.send_indication(kPeer, {}, at(3));
  ASSERT_TRUE(empty);
  EXPECT_TRUE(empty->data.empty());
}

TEST(RelayData, PeerDataToAnUnknownRelayAddressOrWithoutHeadroom) {
  Allocated f;
  ASSERT_TRUE(f.c.create_permission({kPeer}, at(1))->is_success());
  EXPECT_FALSE(from_peer(*f.server, ep("198.51.100.1:1"), kPeer, bytes_of("a"), at(2)));
  EXPECT_EQ(f.drops(RelayDrop::kNoAllocation), 1u);
  std::vector<uint8_t> small(kPeerHeadroom + 2);
  EXPECT_FALSE(f.server->handle_peer(f.relayed, kPeer, small, 2, at(2)));
  EXPECT_EQ(f.drops(RelayDrop::kTooLarge), 1u);
  // After the allocation expired, its address carries nothing.
  EXPECT_FALSE(from_peer(*f.server, f.relayed, kPeer, bytes_of("a"), at(600)));
  EXPECT_EQ(f.drops(RelayDrop::kNoAllocation), 2u);
}

TEST(RelayData, RateLimitDropsTheExcessAndRefills) {
  auto config = test_config();
  config.rate_limit.packets_per_second = 10;
  config.rate_limit.bytes_per_second = 100'000;
  Allocated f(config);
  ASSERT_TRUE(f.c.channel_bind(0x4000, kPeer, at(1))->is_success());
  // A burst of 25 packets at one instant: the bucket (10 packets) lets 10 through.
  int passed = 0;
  for (int i = 0; i < 25; ++i)
    passed += f.c.channel_data(0x4000, bytes_of("p"), at(2)).has_value();
  EXPECT_EQ(passed, 10);
  EXPECT_EQ(f.drops(RelayDrop::kRateLimited), 15u);
  // Half a second later, 5 more tokens.
  passed = 0;
  for (int i = 0; i < 10; ++i)
    passed += f.c.channel_data(0x4000, bytes_of("p"), at(2.5)).has_value();
  EXPECT_EQ(passed, 5);
  // The other direction has its own bucket.
  passed = 0;
  for (int i = 0; i < 12; ++i)
    passed += from_peer(*f.server, f.relayed, kPeer, bytes_of("q"), at(2.5)).has_value();
  EXPECT_EQ(passed, 10);

  // Bytes: 100 kB/s; 60 kB datagrams: one fits the full bucket, the second must wait.
  const std::vector<uint8_t> big(60'000, 0xAB);
  EXPECT_TRUE(f.c.channel_data(0x4000, big, at(10)));
  EXPECT_FALSE(f.c.channel_data(0x4000, big, at(10)));
  EXPECT_FALSE(f.c.channel_data(0x4000, big, at(10.1)));
  EXPECT_TRUE(f.c.channel_data(0x4000, big, at(10.3)));
}

// Two clients on one relay exchange data through their allocations, as two
// tern agents will, checked byte for byte.
TEST(RelayData, TwoClientsThroughOneRelay) {
  Fixture f;
  auto a = f.client("203.0.113.10:40000");
  auto b = f.client("198.51.100.20:50000", "bob", "bob-pass");
  const auto ra = a.allocate(at(0));
  const auto rb = b.allocate(at(0));
  ASSERT_TRUE(a.channel_bind(0x4000, rb, at(1))->is_success());
  ASSERT_TRUE(b.channel_bind(0x4567, ra, at(1))->is_success());

  std::vector<uint8_t> payload(1200);
  for (size_t i = 0; i < payload.size(); ++i)
    payload[i] = static_cast<uint8_t>(i * 31);
  for (int round = 0; round < 50; ++round) {
    payload[0] = static_cast<uint8_t>(round);
    // a -> relay (ra) -> rb: the datagram arrives on b's relayed address from ra.
    auto hop1 = a.channel_data(0x4000, payload, at(2 + round));
    ASSERT_TRUE(hop1);
    ASSERT_EQ(hop1->from, ra);
    ASSERT_EQ(hop1->to, rb);
    auto hop2 = from_peer(*f.server, hop1->to, hop1->from, hop1->data, at(2 + round));
    ASSERT_TRUE(hop2);
    ASSERT_EQ(hop2->to, b.tuple().client);
    auto view = wire::parse_channel_data(hop2->data);
    ASSERT_TRUE(view);
    EXPECT_EQ(view->channel, 0x4567);
    ASSERT_EQ(std::vector<uint8_t>(view->data.begin(), view->data.end()), payload);
  }
  EXPECT_EQ(f.server->counters().to_peer.packets, 50u);
  EXPECT_EQ(f.server->counters().to_client.packets, 50u);
  EXPECT_EQ(f.server->counters().to_client.bytes, 50u * 1200u);
}

}  // namespace
}  // namespace tern::relay::test

// Permissions, channels and relayed data against the fake server: request and
// refresh timings, Send indications until a channel is bound and ChannelData
// after, delivery of Data indications and ChannelData, refused peers.
#include <gtest/gtest.h>

#include <algorithm>

#include "core/turn_client.hpp"
#include "turn_test_harness.hpp"
#include "wire/stun_tcp_framing.hpp"

namespace tern::core {
namespace {

using test::kT0;
using test::TurnHarness;
using wire::StunClass;
using wire::StunMethod;

const Endpoint kPeer = *Endpoint::parse("198.51.100.20:51820");
const Endpoint kPeer2 = *Endpoint::parse("198.51.100.20:51821");
const Endpoint kOther = *Endpoint::parse("192.0.2.44:9000");

std::string text(Bytes b) {
  return std::string(b.begin(), b.end());
}

Bytes bytes(std::string_view s) {
  return wire::as_bytes(s);
}

TEST(TurnPeers, AddPeerCreatesPermissionAndBindsAChannel) {
  TurnHarness h;
  h.client->add_peer(kPeer, h.now);
  h.pump();
  EXPECT_EQ(h.server.count(StunMethod::kCreatePermission), 1u);
  EXPECT_EQ(h.server.count(StunMethod::kChannelBind), 1u);
  EXPECT_EQ(h.server.last(StunMethod::kCreatePermission)->peer, kPeer);
  EXPECT_EQ(h.server.last(StunMethod::kChannelBind)->channel, wire::kChannelMin);
  EXPECT_TRUE(h.client->has_permission(kPeer.address, h.now));
  EXPECT_EQ(h.client->bound_channel(kPeer, h.now), wire::kChannelMin);
  ASSERT_EQ(h.events_of<TurnPermissionCreated>().size(), 1u);
  EXPECT_EQ(h.events_of<TurnPermissionCreated>()[0].peer, kPeer.address);
  ASSERT_EQ(h.events_of<TurnChannelBound>().size(), 1u);
  EXPECT_EQ(h.events_of<TurnChannelBound>()[0].peer, kPeer);
}

TEST(TurnPeers, PeersAddedEarlyWaitForTheAllocation) {
  TurnHarness h(test::default_config(), false);
  h.link_down = true;
  h.start();
  h.client->add_peer(kPeer, h.now);
  h.pump();
  EXPECT_EQ(h.server.count(StunMethod::kCreatePermission), 0u);
  h.link_down = false;
  h.advance(500ms);  // the Allocate's retransmission goes through
  ASSERT_TRUE(h.client->is_allocated());
  EXPECT_EQ(h.server.count(StunMethod::kCreatePermission), 1u);
  EXPECT_EQ(h.server.count(StunMethod::kChannelBind), 1u);
}

TEST(TurnPeers, PermissionAndChannelStayAliveWithRefreshes) {
  TurnHarness h;
  h.client->add_peer(kPeer, h.now);
  h.pump();
  // Thirty minutes in 10-second steps: the server never lets either lapse.
  for (int i = 0; i < 180; ++i) {
    h.advance(10s);
    ASSERT_TRUE(h.server.permissions.count(kPeer.address));
    EXPECT_GT(h.server.permissions[kPeer.address], h.now) << i;
    ASSERT_EQ(h.server.channels.count(wire::kChannelMin), 1u);
    EXPECT_GT(h.server.channels[wire::kChannelMin].second, h.now) << i;
    EXPECT_TRUE(h.server.allocation_expires > h.now);
  }
  // ChannelBind every 540 s; a permission refresh (CreatePermission or ChannelBind)
  // at most 240 s after the previous one.
  const auto binds = h.server.times_of(StunMethod::kChannelBind);
  const std::vector<Instant> expected_binds = {kT0, kT0 + 540s, kT0 + 1080s, kT0 + 1620s};
  EXPECT_EQ(binds, expected_binds);
  auto refreshes = h.server.times_of(StunMethod::kCreatePermission);
  refreshes.insert(refreshes.end(), binds.begin(), binds.end());
  std::sort(refreshes.begin(), refreshes.end());
  for (size_t i = 1; i < refreshes.size(); ++i) {
    EXPECT_LE(refreshes[i] - refreshes[i - 1], 240s) << i;
  }
  const auto permissions = h.server.times_of(StunMethod::kCreatePermission);
  ASSERT_GE(permissions.size(), 3u);
  EXPECT_EQ(permissions[1], kT0 + 240s);
  EXPECT_EQ(permissions[2], kT0 + 480s);
  // The bind at 540 s refreshed the permission: the next CreatePermission is at 780 s.
  EXPECT_EQ(permissions[3], kT0 + 780s);
  // Events only for the first install.
  EXPECT_EQ(h.events_of<TurnPermissionCreated>().size(), 1u);
  EXPECT_EQ(h.events_of<TurnChannelBound>().size(), 1u);
}

TEST(TurnPeers, SendIndicationsUntilTheChannelIsBoundThenChannelData) {
  TurnHarness h;
  h.server.ignore = {StunMethod::kChannelBind};
  auto first = h.send(kPeer, "hello");
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first.message.size(), 44u);  // 20 + XOR-PEER-ADDRESS 12 + DATA 4 + 5 padded to 8
  auto m = wire::StunMessage::parse(first.message);
  ASSERT_TRUE(m);
  EXPECT_TRUE(m->is(StunMethod::kSend, StunClass::kIndication));
  EXPECT_EQ(wire::decode_xor_address(m->find(wire::StunAttr::kXorPeerAddress)->value,
                                     m->transaction_id()),
            kPeer);
  EXPECT_EQ(text(m->find(wire::StunAttr::kData)->value), "hello");
  ASSERT_EQ(h.server.relayed_to_peers.size(), 1u);
  EXPECT_EQ(h.server.relayed_to_peers[0].first, kPeer);
  EXPECT_EQ(text(h.server.relayed_to_peers[0].second), "hello");
  EXPECT_FALSE(h.client->bound_channel(kPeer, h.now));

  h.server.ignore.clear();
  h.advance(500ms);  // the ChannelBind's retransmission is answered
  ASSERT_EQ(h.client->bound_channel(kPeer, h.now), wire::kChannelMin);
  auto second = h.send(kPeer, "world");
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second.message.size(), 9u);  // 4-byte header, no padding over UDP
  auto cd = wire::parse_channel_data(second.message);
  ASSERT_TRUE(cd);
  EXPECT_EQ(cd->channel, wire::kChannelMin);
  EXPECT_EQ(text(cd->data), "world");
  ASSERT_EQ(h.server.relayed_to_peers.size(), 2u);
  EXPECT_EQ(h.server.relayed_to_peers[1].first, kPeer);
  EXPECT_EQ(text(h.server.relayed_to_peers[1].second), "world");
}

TEST(TurnPeers, SendIndicationToAnIpv6Peer) {
  TurnHarness h;
  h.server.ignore = {StunMethod::kChannelBind};
  const Endpoint v6 = *Endpoint::parse("[2001:db8::20]:51820");
  auto r = h.send(v6, "six");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.message.size(), 20u + 24u + 4u + 4u);
  ASSERT_EQ(h.server.relayed_to_peers.size(), 1u);
  EXPECT_EQ(h.server.relayed_to_peers[0].first, v6);
  EXPECT_EQ(text(h.server.relayed_to_peers[0].second), "six");
}

TEST(TurnPeers, ChannelDataIsPaddedOnStreams) {
  auto config = test::default_config();
  config.transport = StunTransport::kTls;
  TurnHarness h(config);
  h.client->add_peer(kPeer, h.now);
  h.pump();
  auto r = h.send(kPeer, "hello");
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r.message.size(), 12u);
  EXPECT_EQ(r.message[2], 0);
  EXPECT_EQ(r.message[3], 5);  // Length excludes the padding
  EXPECT_EQ(r.message[9], 0);
  EXPECT_EQ(r.message[10], 0);
  EXPECT_EQ(r.message[11], 0);
  auto framed = wire::stream_frame_size(r.message);
  ASSERT_TRUE(framed && *framed);
  EXPECT_EQ(**framed, 12u);
}

TEST(TurnPeers, DataIndicationsAndChannelDataAreDelivered) {
  TurnHarness h;
  h.client->add_peer(kPeer, h.now);
  h.pump();
  auto r = h.deliver(h.server.data_from_peer(kPeer, bytes("via indication"), false));
  ASSERT_EQ(r.kind, TurnReceive::Kind::kData);
  EXPECT_EQ(r.peer, kPeer);
  EXPECT_EQ(text(r.payload), "via indication");
  // The payload is a view into the message, not a copy.
  EXPECT_GE(r.payload.data(), h.inbound.data());
  EXPECT_LE(r.payload.data() + r.payload.size(), h.inbound.data() + h.inbound.size());

  r = h.deliver(h.server.data_from_peer(kPeer, bytes("via channel"), true));
  ASSERT_EQ(r.kind, TurnReceive::Kind::kData);
  EXPECT_EQ(r.peer, kPeer);
  EXPECT_EQ(text(r.payload), "via channel");
  EXPECT_EQ(h.inbound.size(), 4u + 11u);
  EXPECT_EQ(h.client->drops().total(), 0u);
}

TEST(TurnPeers, DataNobodyAskedForIsDropped) {
  TurnHarness h;
  h.client->add_peer(kPeer, h.now);
  h.pump();
  auto r = h.deliver(h.server.data_from_peer(kOther, bytes("stranger"), false));
  EXPECT_EQ(r.kind, TurnReceive::Kind::kDropped);
  EXPECT_EQ(r.reason, DropReason::kUnexpectedMessage);

  std::vector<uint8_t> unbound(8);
  ASSERT_EQ(wire::write_channel_data(0x4123, bytes("abcd"), false, unbound), 8u);
  r = h.deliver(unbound);
  EXPECT_EQ(r.reason, DropReason::kUnexpectedMessage);

  std::vector<uint8_t> reserved = {0x50, 0x00, 0x00, 0x00};
  EXPECT_EQ(h.deliver(reserved).reason, DropReason::kMalformed);
  EXPECT_EQ(h.client->drops().get(DropReason::kUnexpectedMessage), 2u);
  EXPECT_EQ(h.client->drops().get(DropReason::kMalformed), 1u);
}

TEST(TurnPeers, ForbiddenPeerIsReportedOnceAndItsDataDropped) {
  TurnHarness h;
  h.server.inject(StunMethod::kCreatePermission, 403, "Forbidden IP");
  h.server.inject(StunMethod::kChannelBind, 403, "Forbidden IP");
  h.client->add_peer(kPeer, h.now);
  h.pump();
  auto failed = h.events_of<TurnPeerFailed>();
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(failed[0].peer, kPeer);
  EXPECT_EQ(failed[0].error.kind, TurnErrorKind::kForbidden);
  EXPECT_TRUE(test::contains(failed[0].error.message, "forbids relaying to 198.51.100.20"))
      << failed[0].error.message;

  auto r = h.send(kPeer, "x");
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.reason, DropReason::kRelayDenied);
  EXPECT_EQ(h.client->drops().get(DropReason::kRelayDenied), 1u);
  // Never asked again, and the allocation itself is fine.
  h.advance(10min);
  EXPECT_EQ(h.server.count(StunMethod::kCreatePermission), 1u);
  EXPECT_EQ(h.server.count(StunMethod::kChannelBind), 1u);
  EXPECT_TRUE(h.client->is_allocated());
}

TEST(TurnPeers, OtherPermissionErrorsAreRetriedAfterAMinute) {
  TurnHarness h;
  h.server.inject(StunMethod::kCreatePermission, 508, "Insufficient Capacity");
  h.server.ignore = {StunMethod::kChannelBind};  // a bound channel would install it too
  h.client->add_peer(kPeer, h.now);
  h.pump();
  auto failed = h.events_of<TurnPeerFailed>();
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(failed[0].error.kind, TurnErrorKind::kInsufficientCapacity);
  h.advance(59s);
  EXPECT_EQ(h.server.count(StunMethod::kCreatePermission), 1u);
  h.advance(1s);
  EXPECT_EQ(h.server.count(StunMethod::kCreatePermission), 2u);
  EXPECT_EQ(h.events_of<TurnPermissionCreated>().size(), 1u);
}

TEST(TurnPeers, ChannelConflictTakesAnotherNumber) {
  TurnHarness h;
  h.server.inject(StunMethod::kChannelBind, 400, "Bad Request");
  h.client->add_peer(kPeer, h.now);
  h.pump();
  EXPECT_FALSE(h.client->bound_channel(kPeer, h.now));
  EXPECT_TRUE(h.send(kPeer, "meanwhile").ok());  // as a Send indication
  EXPECT_EQ(h.server.relayed_to_peers.size(), 1u);
  h.advance(60s);
  EXPECT_EQ(h.server.last(StunMethod::kChannelBind)->channel, wire::kChannelMin + 1);
  EXPECT_EQ(h.client->bound_channel(kPeer, h.now), wire::kChannelMin + 1);
}

TEST(TurnPeers, ChannelThatCannotBeRefreshedFallsBackToSendIndications) {
  TurnHarness h;
  h.client->add_peer(kPeer, h.now);
  h.pump();
  h.server.ignore = {StunMethod::kChannelBind};
  h.advance(599s);
  EXPECT_TRUE(h.client->bound_channel(kPeer, h.now));
  h.advance(1s);
  EXPECT_FALSE(h.client->bound_channel(kPeer, h.now));
  auto r = h.send(kPeer, "still here");
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(wire::is_stun(r.message));
  EXPECT_EQ(text(h.server.relayed_to_peers.back().second), "still here");
  // The unanswered ChannelBind times out and is asked again at once.
  EXPECT_GE(h.events_of<TurnPeerFailed>().size(), 1u);
  EXPECT_EQ(h.events_of<TurnPeerFailed>()[0].error.kind, TurnErrorKind::kTimeout);
}

TEST(TurnPeers, PeersOnOneAddressShareAPermission) {
  TurnHarness h;
  h.client->add_peer(kPeer, h.now);
  h.client->add_peer(kPeer2, h.now);
  h.pump();
  EXPECT_EQ(h.server.count(StunMethod::kCreatePermission), 1u);
  EXPECT_EQ(h.server.count(StunMethod::kChannelBind), 2u);
  EXPECT_EQ(h.client->bound_channel(kPeer2, h.now), wire::kChannelMin + 1);

  h.client->remove_peer(kPeer);
  h.advance(240s);
  EXPECT_EQ(h.server.count(StunMethod::kCreatePermission), 2u);  // kPeer2 still needs it
  h.client->remove_peer(kPeer2);
  h.advance(20min);
  EXPECT_EQ(h.server.count(StunMethod::kCreatePermission), 2u);
  EXPECT_EQ(h.server.count(StunMethod::kChannelBind), 2u);
}

TEST(TurnPeers, ARemovedPeerGetsItsChannelBack) {
  TurnHarness h;
  h.client->add_peer(kPeer, h.now);
  h.pump();
  h.client->remove_peer(kPeer);
  h.advance(60s);
  // Its old number is still bound on the server: a new peer takes another one...
  h.client->add_peer(kOther, h.now);
  h.pump();
  EXPECT_EQ(h.client->bound_channel(kOther, h.now), wire::kChannelMin + 1);
  // ...and the peer itself gets it back, so the server does not refuse a rebind.
  h.client->add_peer(kPeer, h.now);
  h.pump();
  EXPECT_EQ(h.client->bound_channel(kPeer, h.now), wire::kChannelMin);
  EXPECT_TRUE(h.events_of<TurnPeerFailed>().empty());
}

TEST(TurnPeers, DataBeforeTheAllocationIsDenied) {
  TurnHarness h(test::default_config(), false);
  h.link_down = true;
  h.start();
  auto r = h.send(kPeer, "too early");
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.reason, DropReason::kRelayDenied);
  EXPECT_EQ(h.client->drops().get(DropReason::kRelayDenied), 1u);
}

TEST(TurnPeers, ShortBufferIsRefused) {
  TurnHarness h;
  std::vector<uint8_t> buf(kTurnSendHeadroom + 10);
  auto r = h.client->send_to(kPeer, buf, 10, h.now);  // no tailroom
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.reason, DropReason::kMalformed);
}

TEST(TurnPeers, LostAllocationReinstallsPermissionsAndChannels) {
  TurnHarness h;
  h.client->add_peer(kPeer, h.now);
  h.pump();
  h.server.allocated = false;  // the server restarted
  h.server.permissions.clear();
  h.server.channels.clear();
  h.advance(240s);  // the permission refresh meets 437
  ASSERT_EQ(h.events_of<TurnAllocationLost>().size(), 1u);
  EXPECT_TRUE(h.client->is_allocated());
  EXPECT_TRUE(h.server.permissions.count(kPeer.address));
  EXPECT_EQ(h.server.channels.count(wire::kChannelMin), 1u);
  EXPECT_EQ(h.client->bound_channel(kPeer, h.now), wire::kChannelMin);
  EXPECT_EQ(h.events_of<TurnChannelBound>().size(), 2u);
}

}  // namespace
}  // namespace tern::core

// The agent's relay link (relay_link.hpp) against the tests' TURN server on loopback: the family
// of relayed address it asks for, the first handshake initiation held until the peer's
// permission instead of lost, and a relayed peer whose endpoint moves staying relayed.
#include "agent/relay_link.hpp"

#include <gtest/gtest.h>
#include <poll.h>

#include <cstring>
#include <vector>

#include "core/turn_fake_server.hpp"
#include "crypto/x25519.hpp"
#include "wire/stun.hpp"
#include "wire/stun_attributes.hpp"

namespace tern::agent {
namespace {

const IpAddress kLoopback = IpAddress::v4({127, 0, 0, 1});
const Endpoint kPeerV4 = *Endpoint::parse("192.0.2.7:51820");
const Endpoint kPeerV6 = *Endpoint::parse("[2001:db8:3::2]:51820");

TEST(RelayFamily, FollowsThePeers) {
  using F = IpAddress::Family;
  EXPECT_EQ(relay_family({}), F::kV4);
  const std::vector<Endpoint> v6{kPeerV6, *Endpoint::parse("[2001:db8:3::3]:1")};
  EXPECT_EQ(relay_family(v6), F::kV6);
  EXPECT_EQ(relay_family(std::vector<Endpoint>{kPeerV4}), F::kV4);
  EXPECT_EQ(relay_family(std::vector<Endpoint>{kPeerV6, kPeerV4}), F::kV4);
}

std::vector<uint8_t> ipv4_packet(const char* dst) {
  std::vector<uint8_t> p(28, 0);
  p[0] = 0x45;
  p[3] = 28;
  p[8] = 64;
  p[9] = 17;
  std::memcpy(&p[12], IpAddress::parse("10.0.0.1")->data(), 4);
  std::memcpy(&p[16], IpAddress::parse(dst)->data(), 4);
  return p;
}

// A device with one peer, a relay link towards a fake TURN server on loopback, and the server.
struct Fixture {
  test::FakeTurnServer turn;
  io::UdpSocket server = *io::UdpSocket::bind(Endpoint{kLoopback, 0});
  io::RecvBatch server_recv{8, 65536};
  core::Device device{crypto::generate_private_key()};
  core::PeerId peer = 0;
  std::unique_ptr<RelayLink> link;
  Instant now = Instant{} + std::chrono::hours(1);
  WallTime wall{1'750'000'000'000'000'000};
  std::vector<std::vector<uint8_t>> seen;  // every message the server received

  explicit Fixture(const Endpoint& peer_endpoint) {
    turn.start = now;
    device.set_wall_clock(wall, now);
    peer = *device.add_peer(crypto::public_key_from_private(crypto::generate_private_key()));
    device.add_allowed_ip(peer, *IpPrefix::parse("10.0.0.2/32"));
    device.set_endpoint(peer, peer_endpoint);
    config::RelayConfig c;
    c.url = "turn:127.0.0.1:" + std::to_string(server.local_port());
    c.host = "127.0.0.1";
    c.port = server.local_port();
    c.username = "alice";
    c.password = "correct horse";
    link = std::move(*RelayLink::start(c, false, now, wall));
  }

  // Lets the server answer and the link take the answers until both are quiet.
  void exchange() {
    for (int round = 0; round < 20; ++round) {
      bool any = false;
      pollfd p{server.fd(), POLLIN, 0};
      if (::poll(&p, 1, 50) > 0) {
        auto n = server.recv(server_recv);
        ASSERT_TRUE(n);
        std::vector<std::pair<Endpoint, std::vector<uint8_t>>> answers;
        for (size_t i = 0; i < *n; ++i) {
          seen.emplace_back(server_recv.data(i).begin(), server_recv.data(i).end());
          for (auto& a : turn.receive(server_recv.data(i), now))
            answers.emplace_back(server_recv.from(i), std::move(a));
        }
        io::SendBatch batch(answers.size() + 1);
        for (const auto& [to, a] : answers)
          (void)batch.add(to, a);
        if (batch.size()) {
          ASSERT_TRUE(server.send(batch));
        }
        any = true;
      }
      pollfd q{link->fd(), POLLIN, 0};
      if (::poll(&q, 1, 50) > 0) {
        auto n = link->receive();
        ASSERT_TRUE(n);
        for (size_t i = 0; i < *n; ++i) {
          (void)link->handle_datagram(device, link->recv_batch().from(i),
                                      link->recv_batch().mutable_data(i), now);
        }
        any = true;
      }
      link->after_input(device, now);
      if (!any) return;
    }
  }

  // The first handshake initiation the device makes for its peer, offered to the link as the
  // data path does (framing room around it).
  bool queue_initiation() {
    const auto packet = ipv4_packet("10.0.0.2");
    std::vector<uint8_t> buf(core::kSendHeadroom + packet.size() + core::kSendTailroom);
    std::memcpy(buf.data() + core::kSendHeadroom, packet.data(), packet.size());
    EXPECT_EQ(device.send_packet(buf, packet.size(), now).kind, core::SendResult::Kind::kQueued);
    auto t = device.poll_transmit(now);
    if (!t) return false;
    EXPECT_EQ(t->data.size(), wire::kInitiationSize);
    std::vector<uint8_t> framed(kRelayHeadroom + t->data.size() + kRelayTailroom);
    std::memcpy(framed.data() + kRelayHeadroom, t->data.data(), t->data.size());
    const bool ok = link->queue(device, t->to,
                                MutableBytes(framed.data() + kRelayHeadroom, t->data.size()), now);
    link->flush(device);
    return ok;
  }

  std::optional<IpAddress::Family> allocate_family(const std::vector<uint8_t>& m) const {
    auto parsed = wire::StunMessage::parse(m);
    if (!parsed || !parsed->is(wire::StunMethod::kAllocate, wire::StunClass::kRequest)) {
      return std::nullopt;
    }
    auto a = parsed->find(wire::StunAttr::kRequestedAddressFamily);
    return a ? wire::decode_address_family(a->value) : IpAddress::Family::kV4;
  }
  std::vector<IpAddress::Family> allocate_families() const {
    std::vector<IpAddress::Family> out;
    for (const auto& m : seen)
      if (auto f = allocate_family(m)) out.push_back(*f);
    return out;
  }
};

TEST(RelayLink, AsksForAnIpv6AllocationForIpv6Peers) {
  Fixture f(kPeerV6);
  f.link->add_peer(f.device, f.peer, kPeerV6, f.now);
  EXPECT_EQ(f.link->family(), IpAddress::Family::kV6);
  f.exchange();
  const auto families = f.allocate_families();
  ASSERT_FALSE(families.empty());
  for (auto family : families)
    EXPECT_EQ(family, IpAddress::Family::kV6);  // the challenge's retry asks the same
  EXPECT_TRUE(f.turn.allocated);
  EXPECT_TRUE(f.turn.permissions.contains(kPeerV6.address));
}

TEST(RelayLink, AsksForIpv4ForIpv4Peers) {
  Fixture f(kPeerV4);
  f.link->add_peer(f.device, f.peer, kPeerV4, f.now);
  f.exchange();
  const auto families = f.allocate_families();
  ASSERT_FALSE(families.empty());
  for (auto family : families)
    EXPECT_EQ(family, IpAddress::Family::kV4);  // no REQUESTED-ADDRESS-FAMILY at all
}

TEST(RelayLink, FirstInitiationWaitsForThePermissionInsteadOfBeingLost) {
  Fixture f(kPeerV4);
  f.link->add_peer(f.device, f.peer, kPeerV4, f.now);
  // Before any answer from the server: no allocation, no permission.
  ASSERT_TRUE(f.queue_initiation());
  EXPECT_EQ(f.device.drops().get(DropReason::kRelayDenied), 0u);
  EXPECT_TRUE(f.turn.relayed_to_peers.empty());
  f.exchange();
  ASSERT_TRUE(f.turn.permissions.contains(kPeerV4.address));
  ASSERT_EQ(f.turn.relayed_to_peers.size(), 1u);  // sent once the permission is there
  EXPECT_EQ(f.turn.relayed_to_peers[0].first, kPeerV4);
  ASSERT_EQ(f.turn.relayed_to_peers[0].second.size(), wire::kInitiationSize);
  EXPECT_EQ(f.turn.relayed_to_peers[0].second[0], wire::kMessageInitiation);
  EXPECT_EQ(f.device.drops().get(DropReason::kRelayDenied), 0u);
  f.exchange();  // nothing more: it went once
  EXPECT_EQ(f.turn.relayed_to_peers.size(), 1u);
}

TEST(RelayLink, AHeldInitiationNeverPermittedIsCountedAfterFiveSeconds) {
  Fixture f(kPeerV4);
  f.turn.silent = true;  // the server never answers
  f.link->add_peer(f.device, f.peer, kPeerV4, f.now);
  ASSERT_TRUE(f.queue_initiation());
  f.link->after_input(f.device, f.now + std::chrono::seconds(4));
  EXPECT_EQ(f.device.drops().get(DropReason::kRelayDenied), 0u);
  f.link->after_input(f.device, f.now + std::chrono::seconds(6));
  EXPECT_EQ(f.device.drops().get(DropReason::kRelayDenied), 1u);
  f.link->after_input(f.device, f.now + std::chrono::seconds(7));
  EXPECT_EQ(f.device.drops().get(DropReason::kRelayDenied), 1u);
}

TEST(RelayLink, AMovedEndpointStaysRelayed) {
  Fixture f(kPeerV4);
  f.link->add_peer(f.device, f.peer, kPeerV4, f.now);
  f.exchange();
  ASSERT_TRUE(f.link->carries(kPeerV4));
  // The peer roams (or `tern set` moves it): the relay follows, with a permission for it.
  const Endpoint moved = *Endpoint::parse("192.0.2.9:40000");
  f.device.set_endpoint(f.peer, moved);
  f.link->after_input(f.device, f.now);
  EXPECT_TRUE(f.link->carries(moved));
  EXPECT_FALSE(f.link->carries(kPeerV4));
  f.exchange();
  EXPECT_TRUE(f.turn.permissions.contains(moved.address));
  const auto st = f.link->status(f.now);
  ASSERT_EQ(st.peers.size(), 1u);
  EXPECT_EQ(st.peers[0].endpoint, moved);
  EXPECT_TRUE(st.peers[0].permission);
}

TEST(RelayLink, APortChangeKeepsTheAddressPermission) {
  Fixture f(kPeerV4);
  f.link->add_peer(f.device, f.peer, kPeerV4, f.now);
  f.exchange();
  const size_t permissions = f.turn.count(wire::StunMethod::kCreatePermission);
  const Endpoint moved{kPeerV4.address, 40001};  // a NAT rebinding: same address, new port
  f.device.set_endpoint(f.peer, moved);
  f.link->after_input(f.device, f.now);
  auto st = f.link->status(f.now);
  ASSERT_EQ(st.peers.size(), 1u);
  EXPECT_EQ(st.peers[0].endpoint, moved);
  EXPECT_TRUE(st.peers[0].permission);  // at once: nothing to wait for before sending
  f.exchange();
  EXPECT_EQ(f.turn.count(wire::StunMethod::kCreatePermission), permissions);
  EXPECT_TRUE(f.link->status(f.now).peers[0].channel != 0);  // a channel of its own
}

TEST(RelayLink, AnEndpointMovingToTheOtherFamilyAsksForThatFamily) {
  Fixture f(kPeerV4);
  f.link->add_peer(f.device, f.peer, kPeerV4, f.now);
  f.exchange();
  f.device.set_endpoint(f.peer, kPeerV6);
  f.link->after_input(f.device, f.now);
  EXPECT_EQ(f.link->family(), IpAddress::Family::kV6);
  EXPECT_TRUE(f.link->carries(kPeerV6));
  f.seen.clear();
  f.exchange();
  const auto families = f.allocate_families();
  ASSERT_FALSE(families.empty());
  EXPECT_EQ(families.back(), IpAddress::Family::kV6);
}

TEST(RelayLink, APeerRemovedFromTheDeviceLeavesTheRelay) {
  Fixture f(kPeerV4);
  f.link->add_peer(f.device, f.peer, kPeerV4, f.now);
  f.exchange();
  f.device.remove_peer(f.peer);
  f.link->after_input(f.device, f.now);
  EXPECT_FALSE(f.link->carries(kPeerV4));
  EXPECT_TRUE(f.link->status(f.now).peers.empty());
}

}  // namespace
}  // namespace tern::agent

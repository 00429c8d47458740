// Two sans-I/O devices joined by a simulated wire, driven by a fake clock.
#include "core/device.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "crypto/x25519.hpp"
#include "wire/wireguard.hpp"

namespace tern::core {
namespace {

const Endpoint kAddrA = *Endpoint::parse("192.0.2.1:51820");
const Endpoint kAddrB = *Endpoint::parse("192.0.2.2:51820");

std::vector<uint8_t> ipv4_packet(const char* src, const char* dst, size_t payload) {
  std::vector<uint8_t> p(20 + payload, 0xab);
  p[0] = 0x45;
  p[1] = 0;
  const size_t total = p.size();
  p[2] = static_cast<uint8_t>(total >> 8);
  p[3] = static_cast<uint8_t>(total);
  auto s = *IpAddress::parse(src);
  auto d = *IpAddress::parse(dst);
  std::memcpy(&p[12], s.data(), 4);
  std::memcpy(&p[16], d.data(), 4);
  return p;
}

struct Datagram {
  Endpoint from, to;
  std::vector<uint8_t> bytes;
};

// A side of the test network: a device and the address it sends from.
struct Side {
  Side(const crypto::Key& priv, Endpoint addr) : device(priv), address(addr) {}
  Device device;
  Endpoint address;
  std::vector<std::vector<uint8_t>> delivered;  // inner packets written to "TUN"
};

class Net {
 public:
  Net() : a_(crypto::generate_private_key(), kAddrA), b_(crypto::generate_private_key(), kAddrB) {
    a_.device.set_wall_clock(WallTime{1'700'000'000'000'000'000}, now_);
    b_.device.set_wall_clock(WallTime{1'700'000'000'000'000'000}, now_);
    pa_ = *a_.device.add_peer(b_.device.public_key());
    pb_ = *b_.device.add_peer(a_.device.public_key());
    a_.device.add_allowed_ip(pa_, *IpPrefix::parse("10.0.0.2/32"));
    b_.device.add_allowed_ip(pb_, *IpPrefix::parse("10.0.0.1/32"));
    a_.device.set_endpoint(pa_, kAddrB);
  }

  // Sends an IP packet from a side's TUN; whatever goes on the wire is queued.
  SendResult send(Side& s, const std::vector<uint8_t>& packet) {
    std::vector<uint8_t> buf(kSendHeadroom + packet.size() + kSendTailroom);
    std::memcpy(buf.data() + kSendHeadroom, packet.data(), packet.size());
    auto r = s.device.send_packet(buf, packet.size(), now_);
    if (r.kind == SendResult::Kind::kSend) {
      wire_.push_back({s.address, r.to, std::vector<uint8_t>(buf.begin(), buf.begin() + r.length)});
    }
    collect(s);
    return r;
  }

  void collect(Side& s) {
    while (auto t = s.device.poll_transmit(now_)) {
      wire_.push_back({s.address, t->to, std::vector<uint8_t>(t->data.begin(), t->data.end())});
    }
  }

  // Delivers every queued datagram (and what they trigger) until the wire is quiet.
  void run(unsigned max_steps = 1000) {
    for (unsigned i = 0; i < max_steps && !wire_.empty(); ++i) {
      Datagram d = std::move(wire_.front());
      wire_.erase(wire_.begin());
      if (drop_next_ > 0) {
        --drop_next_;
        continue;
      }
      Side* dst = d.to == a_.address ? &a_ : d.to == b_.address ? &b_ : nullptr;
      if (!dst) continue;
      deliver(*dst, d.from, d.bytes);
    }
  }

  ReceiveResult deliver(Side& dst, const Endpoint& from, std::vector<uint8_t> bytes) {
    auto r = dst.device.receive_datagram(from, bytes, now_);
    if (r.kind == ReceiveResult::Kind::kDeliver) {
      dst.delivered.emplace_back(r.packet.begin(), r.packet.end());
    }
    collect(dst);
    return r;
  }

  void advance(Duration d) {
    now_ += d;
    for (Side* s : {&a_, &b_}) {
      s->device.handle_timeout(now_);
      collect(*s);
    }
  }

  // Time passes in small steps with the wire delivering in between, so timers
  // with jitter fire in a realistic order.
  void live(Duration total, Duration step = 10ms) {
    for (Duration t{0}; t < total; t += step) {
      advance(step);
      run();
    }
  }

  Side a_, b_;
  PeerId pa_ = 0, pb_ = 0;
  Instant now_ = instant_from_ns(5'000'000'000);
  std::vector<Datagram> wire_;
  unsigned drop_next_ = 0;
};

TEST(Device, FirstPacketTriggersHandshakeThenFlowsBothWays) {
  Net net;
  auto ping = ipv4_packet("10.0.0.1", "10.0.0.2", 64);
  EXPECT_EQ(net.send(net.a_, ping).kind, SendResult::Kind::kQueued);
  net.run();
  ASSERT_EQ(net.b_.delivered.size(), 1u);
  EXPECT_EQ(net.b_.delivered[0], ping);

  auto pong = ipv4_packet("10.0.0.2", "10.0.0.1", 64);
  EXPECT_EQ(net.send(net.b_, pong).kind, SendResult::Kind::kSend);
  net.run();
  ASSERT_EQ(net.a_.delivered.size(), 1u);
  EXPECT_EQ(net.a_.delivered[0], pong);
  EXPECT_TRUE(net.a_.device.peer_info(net.pa_)->last_handshake);
  EXPECT_TRUE(net.b_.device.peer_info(net.pb_)->last_handshake);
  EXPECT_EQ(net.a_.device.drops().total(), 0u);
  EXPECT_EQ(net.b_.device.drops().total(), 0u);
}

TEST(Device, ResponderLearnsEndpointFromAuthenticatedHandshake) {
  Net net;
  net.send(net.a_, ipv4_packet("10.0.0.1", "10.0.0.2", 10));
  net.run();
  EXPECT_EQ(net.b_.device.peer_info(net.pb_)->endpoint, kAddrA);
}

TEST(Device, PresharedKeyMismatchFailsHandshake) {
  Net net;
  crypto::Key psk{};
  psk[0] = 1;
  net.a_.device.set_preshared_key(net.pa_, psk);
  net.send(net.a_, ipv4_packet("10.0.0.1", "10.0.0.2", 10));
  net.run();
  EXPECT_TRUE(net.b_.delivered.empty());
  EXPECT_GT(net.a_.device.drops().get(DropReason::kHandshakeFailed), 0u);
}

TEST(Device, MatchingPresharedKeysWork) {
  Net net;
  crypto::Key psk{};
  psk[5] = 9;
  net.a_.device.set_preshared_key(net.pa_, psk);
  net.b_.device.set_preshared_key(net.pb_, psk);
  net.send(net.a_, ipv4_packet("10.0.0.1", "10.0.0.2", 10));
  net.run();
  EXPECT_EQ(net.b_.delivered.size(), 1u);
}

TEST(Device, NoRouteAndNoEndpointAreCounted) {
  Net net;
  EXPECT_EQ(net.send(net.a_, ipv4_packet("10.0.0.1", "10.9.9.9", 10)).reason, DropReason::kNoRoute);
  EXPECT_EQ(net.a_.device.drops().get(DropReason::kNoRoute), 1u);
  // B has no endpoint for A until A speaks first.
  EXPECT_EQ(net.send(net.b_, ipv4_packet("10.0.0.2", "10.0.0.1", 10)).reason,
            DropReason::kNoEndpoint);
  EXPECT_EQ(net.b_.device.peer_info(net.pb_)->drops.get(DropReason::kNoEndpoint), 1u);
}

TEST(Device, ReplayedTransportIsDroppedAndCounted) {
  Net net;
  net.send(net.a_, ipv4_packet("10.0.0.1", "10.0.0.2", 10));
  net.run();
  net.send(net.a_, ipv4_packet("10.0.0.1", "10.0.0.2", 20));
  ASSERT_EQ(net.wire_.size(), 1u);
  auto copy = net.wire_[0];
  net.run();
  EXPECT_EQ(net.b_.delivered.size(), 2u);
  auto r = net.deliver(net.b_, copy.from, copy.bytes);
  EXPECT_EQ(r.reason, DropReason::kReplay);
  EXPECT_EQ(net.b_.device.drops().get(DropReason::kReplay), 1u);
}

TEST(Device, TamperedTransportFailsDecryption) {
  Net net;
  net.send(net.a_, ipv4_packet("10.0.0.1", "10.0.0.2", 10));
  net.run();
  net.send(net.a_, ipv4_packet("10.0.0.1", "10.0.0.2", 20));
  ASSERT_EQ(net.wire_.size(), 1u);
  net.wire_[0].bytes[20] ^= 1;
  net.run();
  EXPECT_EQ(net.b_.delivered.size(), 1u);
  EXPECT_EQ(net.b_.device.drops().get(DropReason::kDecryptFailed), 1u);
}

TEST(Device, InnerSourceOutsideAllowedIpsIsDropped) {
  Net net;
  net.send(net.a_, ipv4_packet("10.0.0.1", "10.0.0.2", 10));
  net.run();
  net.send(net.a_, ipv4_packet("10.0.0.66", "10.0.0.2", 10));
  net.run();
  EXPECT_EQ(net.b_.delivered.size(), 1u);
  EXPECT_EQ(net.b_.device.drops().get(DropReason::kSourceNotAllowed), 1u);
}

TEST(Device, GarbageIsMalformedOrUnknown) {
  Net net;
  std::vector<uint8_t> junk(100, 0x77);
  EXPECT_EQ(net.deliver(net.b_, kAddrA, junk).reason, DropReason::kMalformed);
  std::vector<uint8_t> transport(48, 0);
  transport[0] = 4;
  transport[4] = 0x42;
  EXPECT_EQ(net.deliver(net.b_, kAddrA, transport).reason, DropReason::kUnknownIndex);
  std::vector<uint8_t> init(wire::kInitiationSize, 0);
  init[0] = 1;
  EXPECT_EQ(net.deliver(net.b_, kAddrA, init).reason, DropReason::kInvalidMac1);
}

TEST(Device, ReplayedInitiationIsRejected) {
  Net net;
  net.send(net.a_, ipv4_packet("10.0.0.1", "10.0.0.2", 10));
  ASSERT_EQ(net.wire_.size(), 1u);
  auto initiation = net.wire_[0];
  net.run();
  net.advance(1s);
  auto r = net.deliver(net.b_, initiation.from, initiation.bytes);
  EXPECT_EQ(r.reason, DropReason::kHandshakeReplay);
}

TEST(Device, RetransmitsLostInitiation) {
  Net net;
  net.drop_next_ = 1;
  net.send(net.a_, ipv4_packet("10.0.0.1", "10.0.0.2", 10));
  net.run();
  EXPECT_TRUE(net.b_.delivered.empty());
  net.advance(5400ms);  // REKEY_TIMEOUT + max jitter
  net.run();
  ASSERT_EQ(net.b_.delivered.size(), 1u);
}

TEST(Device, GivesUpAfterRekeyAttemptTimeAndCountsStagedDrops) {
  Net net;
  net.a_.device.set_endpoint(net.pa_, *Endpoint::parse("203.0.113.9:1"));  // nobody there
  net.send(net.a_, ipv4_packet("10.0.0.1", "10.0.0.2", 10));
  for (int i = 0; i < 40; ++i) {
    net.advance(5400ms);
    net.wire_.clear();
  }
  EXPECT_EQ(net.a_.device.drops().get(DropReason::kHandshakeTimeout), 1u);
}

TEST(Device, RoamingFollowsAuthenticatedPacketsOnly) {
  Net net;
  net.send(net.a_, ipv4_packet("10.0.0.1", "10.0.0.2", 10));
  net.run();
  const Endpoint moved = *Endpoint::parse("198.51.100.7:40000");
  net.a_.address = moved;
  net.send(net.a_, ipv4_packet("10.0.0.1", "10.0.0.2", 10));
  net.run();
  EXPECT_EQ(net.b_.device.peer_info(net.pb_)->endpoint, moved);
  // A forged packet from elsewhere does not move the endpoint.
  std::vector<uint8_t> forged(64, 0);
  forged[0] = 4;
  net.deliver(net.b_, *Endpoint::parse("203.0.113.66:1"), forged);
  EXPECT_EQ(net.b_.device.peer_info(net.pb_)->endpoint, moved);
}

TEST(Device, ResponderSendsKeepaliveWhenDataArrivesAndNothingGoesBack) {
  Net net;
  net.send(net.a_, ipv4_packet("10.0.0.1", "10.0.0.2", 10));
  net.run();
  const auto rx_before = net.a_.device.peer_info(net.pa_)->traffic.rx_packets;
  net.advance(kKeepaliveTimeout);
  net.run();
  EXPECT_EQ(net.a_.device.peer_info(net.pa_)->traffic.rx_packets, rx_before + 1);
}

TEST(Device, PersistentKeepaliveKeepsSending) {
  Net net;
  net.send(net.a_, ipv4_packet("10.0.0.1", "10.0.0.2", 10));
  net.run();
  net.a_.device.set_persistent_keepalive(net.pa_, 25, net.now_);
  net.collect(net.a_);
  net.run();
  const auto rx0 = net.b_.device.peer_info(net.pb_)->traffic.rx_packets;
  for (int i = 0; i < 4; ++i) {
    net.advance(25s);
    net.run();
  }
  EXPECT_GE(net.b_.device.peer_info(net.pb_)->traffic.rx_packets, rx0 + 4);
}

TEST(Device, RekeysAfterRekeyAfterTime) {
  Net net;
  net.send(net.a_, ipv4_packet("10.0.0.1", "10.0.0.2", 10));
  net.run();
  auto first = net.a_.device.peer_info(net.pa_)->last_handshake;
  net.advance(kRekeyAfterTime + 1s);
  net.send(net.a_, ipv4_packet("10.0.0.1", "10.0.0.2", 10));
  net.run();
  auto second = net.a_.device.peer_info(net.pa_)->last_handshake;
  ASSERT_TRUE(first && second);
  EXPECT_GT(second->unix_ns, first->unix_ns);
  // Traffic continues on the new session.
  net.send(net.a_, ipv4_packet("10.0.0.1", "10.0.0.2", 10));
  net.run();
  EXPECT_EQ(net.b_.delivered.size(), 3u);
}

TEST(Device, SessionExpiresAfterRejectAfterTime) {
  Net net;
  net.send(net.a_, ipv4_packet("10.0.0.1", "10.0.0.2", 10));
  net.run();
  // A packet held back on the wire past REJECT_AFTER_TIME is refused.
  net.send(net.a_, ipv4_packet("10.0.0.1", "10.0.0.2", 10));
  ASSERT_EQ(net.wire_.size(), 1u);
  Datagram late = net.wire_[0];
  net.wire_.clear();
  net.advance(kRejectAfterTime + 1s);
  EXPECT_EQ(net.deliver(net.b_, late.from, late.bytes).reason, DropReason::kKeyExpired);
  // Both sides' timers start handshakes; they cross, and the jittered retries settle it.
  net.run();
  net.live(30s);
  net.send(net.a_, ipv4_packet("10.0.0.1", "10.0.0.2", 10));
  net.run();
  EXPECT_EQ(net.b_.delivered.size(), 2u);
}

TEST(Device, UnderLoadDemandsCookieThenAcceptsRetry) {
  Net net;
  net.b_.device.force_under_load(true);
  net.send(net.a_, ipv4_packet("10.0.0.1", "10.0.0.2", 10));
  net.run();
  EXPECT_TRUE(net.b_.delivered.empty());
  EXPECT_EQ(net.b_.device.drops().get(DropReason::kInvalidMac2), 1u);
  // A got the cookie; its retransmission carries mac2 and is answered.
  net.advance(5400ms);
  net.run();
  EXPECT_EQ(net.b_.delivered.size(), 1u);
}

TEST(Device, StagedQueueOverflowDropsOldest) {
  Net net;
  net.a_.device.set_endpoint(net.pa_, *Endpoint::parse("203.0.113.9:1"));
  for (size_t i = 0; i < kMaxStagedPackets + 3; ++i) {
    net.send(net.a_, ipv4_packet("10.0.0.1", "10.0.0.2", 10));
  }
  EXPECT_EQ(net.a_.device.drops().get(DropReason::kQueueFull), 3u);
}

}  // namespace
}  // namespace tern::core

namespace tern::core {
namespace {

std::vector<DeviceEvent::Kind> drain(Device& d) {
  std::vector<DeviceEvent::Kind> kinds;
  while (auto e = d.poll_event())
    kinds.push_back(e->kind);
  return kinds;
}

TEST(DeviceEvents, HandshakeAndRoamingAreReported) {
  Net net;
  net.send(net.a_, ipv4_packet("10.0.0.1", "10.0.0.2", 10));
  net.run();
  EXPECT_EQ(drain(net.a_.device), std::vector{DeviceEvent::Kind::kHandshakeCompleted});
  EXPECT_EQ(drain(net.b_.device), std::vector{DeviceEvent::Kind::kHandshakeCompleted});
  net.a_.address = *Endpoint::parse("198.51.100.7:40000");
  net.send(net.a_, ipv4_packet("10.0.0.1", "10.0.0.2", 10));
  net.run();
  auto e = net.b_.device.poll_event();
  ASSERT_TRUE(e);
  EXPECT_EQ(e->kind, DeviceEvent::Kind::kEndpointChanged);
  EXPECT_EQ(e->old_endpoint, kAddrA);
  EXPECT_EQ(e->endpoint, net.a_.address);
}

TEST(DeviceEvents, AbandonedHandshakeSaysHowManyPacketsWereLost) {
  Net net;
  net.a_.device.set_endpoint(net.pa_, *Endpoint::parse("203.0.113.9:1"));
  net.send(net.a_, ipv4_packet("10.0.0.1", "10.0.0.2", 10));
  net.send(net.a_, ipv4_packet("10.0.0.1", "10.0.0.2", 10));
  for (int i = 0; i < 40; ++i) {
    net.advance(5400ms);
    net.wire_.clear();
  }
  std::optional<DeviceEvent> abandoned;
  while (auto e = net.a_.device.poll_event()) {
    if (e->kind == DeviceEvent::Kind::kHandshakeAbandoned) abandoned = e;
  }
  ASSERT_TRUE(abandoned);
  EXPECT_EQ(abandoned->dropped, 2u);
}

}  // namespace
}  // namespace tern::core

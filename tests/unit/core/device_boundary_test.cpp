// The TUN boundary inside the device: packets over the peer's overlay MTU answered with a
// Packet Too Big or fragmented, and TCP SYN MSS clamped in both directions, on a path whose
// MTU the probes found to be 1280 (overlay MTU 1220 over IPv4).
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "core/device.hpp"
#include "crypto/x25519.hpp"

namespace tern::core {
namespace {

const Endpoint kAddrA = *Endpoint::parse("192.0.2.1:51820");
const Endpoint kAddrB = *Endpoint::parse("192.0.2.2:51820");

struct Datagram {
  Endpoint from, to;
  std::vector<uint8_t> bytes;
};

std::vector<uint8_t> ipv4(const char* src, const char* dst, size_t total, uint8_t proto, bool df) {
  std::vector<uint8_t> p(total, 0x5a);
  p[0] = 0x45;
  p[1] = 0;
  p[2] = static_cast<uint8_t>(total >> 8);
  p[3] = static_cast<uint8_t>(total);
  p[4] = 0x12;
  p[5] = 0x34;
  p[6] = df ? 0x40 : 0;
  p[7] = 0;
  p[8] = 64;
  p[9] = proto;
  p[10] = p[11] = 0;
  auto s = *IpAddress::parse(src);
  auto d = *IpAddress::parse(dst);
  std::memcpy(&p[12], s.data(), 4);
  std::memcpy(&p[16], d.data(), 4);
  return p;
}

// A SYN (or SYN-ACK) with one MSS option.
std::vector<uint8_t> tcp_syn(const char* src, const char* dst, uint16_t mss, bool ack) {
  auto p = ipv4(src, dst, 20 + 24, 6, true);
  uint8_t* t = &p[20];
  std::memset(t, 0, 24);
  t[0] = 0x30;
  t[1] = 0x39;  // ports
  t[2] = 0x00;
  t[3] = 0x50;
  t[12] = 6 << 4;  // 24-byte header
  t[13] = ack ? 0x12 : 0x02;
  t[20] = 2;
  t[21] = 4;
  t[22] = static_cast<uint8_t>(mss >> 8);
  t[23] = static_cast<uint8_t>(mss);
  return p;
}

uint16_t mss_of(const std::vector<uint8_t>& p) {
  return static_cast<uint16_t>(p[20 + 22] << 8 | p[20 + 23]);
}

template <size_t kLinkMtu>
class BoundaryOn : public ::testing::Test {
 protected:
  BoundaryOn() : a_(crypto::generate_private_key()), b_(crypto::generate_private_key()) {
    for (Device* d : {&a_, &b_}) {
      d->set_wall_clock(WallTime{1'700'000'000'000'000'000}, now_);
      d->set_mtu(1500);
      d->set_path_mtu_discovery(true, now_);
    }
    pa_ = *a_.add_peer(b_.public_key());
    pb_ = *b_.add_peer(a_.public_key());
    a_.add_allowed_ip(pa_, *IpPrefix::parse("10.0.0.2/32"));
    a_.add_allowed_ip(pa_, *IpPrefix::parse("fd00::2/128"));
    b_.add_allowed_ip(pb_, *IpPrefix::parse("10.0.0.1/32"));
    b_.add_allowed_ip(pb_, *IpPrefix::parse("fd00::1/128"));
    a_.set_endpoint(pa_, kAddrB);
    send(a_, ipv4("10.0.0.1", "10.0.0.2", 100, 17, true));
    for (int i = 0; i < 100; ++i) {
      now_ += 100ms;
      a_.handle_timeout(now_);
      b_.handle_timeout(now_);
      collect(a_, kAddrA);
      collect(b_, kAddrB);
      send(a_, ipv4("10.0.0.1", "10.0.0.2", 100, 17, true));
      run();
    }
    b_packets_.clear();
  }

  SendResult send(Device& d, std::vector<uint8_t> packet) {
    std::vector<uint8_t> buf(kSendHeadroom + packet.size() + kSendTailroom);
    std::memcpy(buf.data() + kSendHeadroom, packet.data(), packet.size());
    auto r = d.send_packet(buf, packet.size(), now_);
    const Endpoint self = &d == &a_ ? kAddrA : kAddrB;
    if (r.kind == SendResult::Kind::kSend) {
      put({self, r.to, std::vector<uint8_t>(buf.begin(), buf.begin() + r.length)});
    }
    collect(d, self);
    return r;
  }

  void put(Datagram d) {
    if (d.bytes.size() + 28 > kLinkMtu) return;  // the path, with no ICMP
    wire_.push_back(std::move(d));
  }

  void collect(Device& d, const Endpoint& self) {
    while (auto t = d.poll_transmit(now_))
      put({self, t->to, std::vector<uint8_t>(t->data.begin(), t->data.end())});
    while (d.poll_event()) {
    }
  }

  void run() {
    for (int i = 0; i < 1000 && !wire_.empty(); ++i) {
      Datagram d = std::move(wire_.front());
      wire_.erase(wire_.begin());
      Device& dst = d.to == kAddrA ? a_ : b_;
      auto r = dst.receive_datagram(d.from, d.bytes, now_);
      if (r.kind == ReceiveResult::Kind::kDeliver) {
        (&dst == &b_ ? b_packets_ : a_packets_).emplace_back(r.packet.begin(), r.packet.end());
      }
      collect(dst, &dst == &a_ ? kAddrA : kAddrB);
    }
  }

  Instant now_ = instant_from_ns(5'000'000'000);
  Device a_, b_;
  PeerId pa_ = 0, pb_ = 0;
  std::vector<Datagram> wire_;
  std::vector<std::vector<uint8_t>> a_packets_, b_packets_;
};

class Boundary : public BoundaryOn<1280> {};
class Boundary1400 : public BoundaryOn<1400> {};

TEST_F(Boundary, PathFoundFirst) {
  EXPECT_EQ(a_.overlay_mtu(pa_), 1220u);
  EXPECT_EQ(b_.overlay_mtu(pb_), 1220u);
}

TEST_F(Boundary, Ipv4WithDfGetsFragmentationNeeded) {
  auto r = send(a_, ipv4("10.0.0.1", "10.0.0.2", 1400, 17, true));
  EXPECT_EQ(r.kind, SendResult::Kind::kTooBig);
  auto ptb = a_.poll_tun_write();
  ASSERT_TRUE(ptb);
  ASSERT_GE(ptb->size(), 20u + 8u + 28u);
  EXPECT_EQ((*ptb)[9], 1);  // ICMP
  EXPECT_EQ((*ptb)[20], 3);
  EXPECT_EQ((*ptb)[21], 4);
  EXPECT_EQ((*ptb)[26] << 8 | (*ptb)[27], 1220);
  // To the sender, from... its destination's side: the reply goes back to 10.0.0.1.
  EXPECT_EQ(std::vector<uint8_t>(ptb->begin() + 16, ptb->begin() + 20),
            (std::vector<uint8_t>{10, 0, 0, 1}));
  EXPECT_FALSE(a_.poll_tun_write());
  EXPECT_EQ(a_.peer_info(pa_)->boundary.ptb_sent, 1u);
  run();
  EXPECT_TRUE(b_packets_.empty());
}

std::vector<uint8_t> ipv6_udp(size_t total) {
  std::vector<uint8_t> p(total, 0);
  p[0] = 0x60;
  const size_t payload = p.size() - 40;
  p[4] = static_cast<uint8_t>(payload >> 8);
  p[5] = static_cast<uint8_t>(payload);
  p[6] = 17;
  p[7] = 64;
  auto s = *IpAddress::parse("fd00::1");
  auto d = *IpAddress::parse("fd00::2");
  std::memcpy(&p[8], s.data(), 16);
  std::memcpy(&p[24], d.data(), 16);
  return p;
}

TEST_F(Boundary1400, Ipv6GetsPacketTooBig) {
  EXPECT_EQ(a_.overlay_mtu(pa_), 1340u);
  auto r = send(a_, ipv6_udp(1400));
  EXPECT_EQ(r.kind, SendResult::Kind::kTooBig) << drop_reason_name(r.reason);
  auto ptb = a_.poll_tun_write();
  ASSERT_TRUE(ptb);
  EXPECT_EQ((*ptb)[6], 58);  // ICMPv6
  EXPECT_EQ((*ptb)[40], 2);  // Packet Too Big
  EXPECT_EQ((*ptb)[44] << 24 | (*ptb)[45] << 16 | (*ptb)[46] << 8 | (*ptb)[47], 1340);
}

// IPv6 needs 1280 on every link, so no PTB may name a smaller MTU. A 1280-byte IPv6 packet over
// a 1220 overlay is carried in IPv6 fragments where the boundary makes them, else dropped and
// counted: never lost silently.
TEST_F(Boundary, Ipv6OverAPathBelow1280PlusOverheadIsNeverLostSilently) {
  auto r = send(a_, ipv6_udp(1280));
  EXPECT_FALSE(a_.poll_tun_write());
  if (r.kind == SendResult::Kind::kQueued) {
    run();
    ASSERT_GE(b_packets_.size(), 2u);
    for (const auto& f : b_packets_)
      EXPECT_LE(f.size(), 1220u);
    EXPECT_EQ(a_.peer_info(pa_)->boundary.fragments_made, b_packets_.size());
  } else {
    EXPECT_EQ(r.kind, SendResult::Kind::kDropped);
    EXPECT_EQ(r.reason, DropReason::kMtuExceeded);
    EXPECT_EQ(a_.peer_info(pa_)->drops.get(DropReason::kMtuExceeded), 1u);
  }
}

TEST_F(Boundary, Ipv4WithoutDfIsFragmentedAndArrives) {
  auto packet = ipv4("10.0.0.1", "10.0.0.2", 3000, 17, false);
  EXPECT_EQ(send(a_, packet).kind, SendResult::Kind::kQueued);
  run();
  ASSERT_EQ(b_packets_.size(), 3u);
  size_t payload = 0;
  for (const auto& f : b_packets_) {
    EXPECT_LE(f.size(), 1220u);
    payload += f.size() - 20;
  }
  EXPECT_EQ(payload, 3000u - 20);
  EXPECT_EQ(a_.peer_info(pa_)->boundary.fragments_made, 3u);
  EXPECT_EQ(a_.drops().total(), 0u);
}

TEST_F(Boundary, FittingPacketsPassUntouched) {
  auto packet = ipv4("10.0.0.1", "10.0.0.2", 1220, 17, true);
  EXPECT_EQ(send(a_, packet).kind, SendResult::Kind::kSend);
  run();
  ASSERT_EQ(b_packets_.size(), 1u);
  EXPECT_EQ(b_packets_[0], packet);
}

TEST_F(Boundary, SynMssClampedOnTheWayOut) {
  EXPECT_EQ(send(a_, tcp_syn("10.0.0.1", "10.0.0.2", 1460, false)).kind, SendResult::Kind::kSend);
  run();
  ASSERT_EQ(b_packets_.size(), 1u);
  EXPECT_EQ(mss_of(b_packets_[0]), 1180);  // 1220 - 40
  EXPECT_EQ(a_.peer_info(pa_)->boundary.mss_clamped, 1u);
}

TEST_F(Boundary, SynAckMssClampedOnTheWayIn) {
  b_.set_mss_clamp(false);  // the peer does not clamp: we do, as the packet arrives
  EXPECT_EQ(send(b_, tcp_syn("10.0.0.2", "10.0.0.1", 1460, true)).kind, SendResult::Kind::kSend);
  run();
  ASSERT_EQ(a_packets_.size(), 1u);
  EXPECT_EQ(mss_of(a_packets_[0]), 1180);
  EXPECT_EQ(a_.peer_info(pa_)->boundary.mss_clamped, 1u);
  EXPECT_EQ(b_.peer_info(pb_)->boundary.mss_clamped, 0u);
}

TEST_F(Boundary, SmallMssIsLeftAlone) {
  send(a_, tcp_syn("10.0.0.1", "10.0.0.2", 1000, false));
  run();
  ASSERT_EQ(b_packets_.size(), 1u);
  EXPECT_EQ(mss_of(b_packets_[0]), 1000);
  EXPECT_EQ(a_.peer_info(pa_)->boundary.mss_clamped, 0u);
}

}  // namespace
}  // namespace tern::core

// The TUN boundary inside the device: packets over the peer's overlay MTU answered with a
// Packet Too Big or fragmented, and TCP SYN MSS clamped in both directions, on a path whose
// MTU the probes found to be 1280 (overlay MTU 1220 over IPv4).
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "core/device_fixture.hpp"

namespace tern::core {
namespace {

using namespace test;

// A SYN (or SYN-ACK) with one MSS option.
std::vector<uint8_t> tcp_syn(const char* src, const char* dst, uint16_t mss, bool ack) {
  auto p = ipv4_packet(src, dst, 20 + 24, 6, true);
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

// The path found first: ten seconds of small packets from A.
template <size_t kLinkMtu>
class BoundaryOn : public ::testing::Test, public DevicePair {
 protected:
  BoundaryOn() : DevicePair(config()) {
    connect();
    live(10s, 100);
    b_.packets.clear();
  }

  static PairConfig config() {
    PairConfig c;
    c.link_mtu = kLinkMtu;
    return c;
  }
};

class Boundary : public BoundaryOn<1280> {};
class Boundary1400 : public BoundaryOn<1400> {};

TEST_F(Boundary, PathFoundFirst) {
  EXPECT_EQ(a_.device.overlay_mtu(pa_), 1220u);
  EXPECT_EQ(b_.device.overlay_mtu(pb_), 1220u);
}

TEST_F(Boundary, Ipv4WithDfGetsFragmentationNeeded) {
  auto r = send_packet(a_, ipv4_packet("10.0.0.1", "10.0.0.2", 1400, 17, true));
  EXPECT_EQ(r.kind, SendResult::Kind::kTooBig);
  auto ptb = a_.device.poll_tun_write();
  ASSERT_TRUE(ptb);
  ASSERT_GE(ptb->size(), 20u + 8u + 28u);
  EXPECT_EQ((*ptb)[9], 1);  // ICMP
  EXPECT_EQ((*ptb)[20], 3);
  EXPECT_EQ((*ptb)[21], 4);
  EXPECT_EQ((*ptb)[26] << 8 | (*ptb)[27], 1220);
  // To the sender, from... its destination's side: the reply goes back to 10.0.0.1.
  EXPECT_EQ(std::vector<uint8_t>(ptb->begin() + 16, ptb->begin() + 20),
            (std::vector<uint8_t>{10, 0, 0, 1}));
  EXPECT_FALSE(a_.device.poll_tun_write());
  EXPECT_EQ(a_.device.peer_info(pa_)->boundary.ptb_sent, 1u);
  run();
  EXPECT_TRUE(b_.packets.empty());
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
  EXPECT_EQ(a_.device.overlay_mtu(pa_), 1340u);
  auto r = send_packet(a_, ipv6_udp(1400));
  EXPECT_EQ(r.kind, SendResult::Kind::kTooBig) << drop_reason_name(r.reason);
  auto ptb = a_.device.poll_tun_write();
  ASSERT_TRUE(ptb);
  EXPECT_EQ((*ptb)[6], 58);  // ICMPv6
  EXPECT_EQ((*ptb)[40], 2);  // Packet Too Big
  EXPECT_EQ((*ptb)[44] << 24 | (*ptb)[45] << 16 | (*ptb)[46] << 8 | (*ptb)[47], 1340);
}

// IPv6 needs 1280 on every link, so no PTB may name a smaller MTU. A 1280-byte IPv6 packet over
// a 1220 overlay is carried in IPv6 fragments where the boundary makes them, else dropped and
// counted: never lost silently.
TEST_F(Boundary, Ipv6OverAPathBelow1280PlusOverheadIsNeverLostSilently) {
  auto r = send_packet(a_, ipv6_udp(1280));
  EXPECT_FALSE(a_.device.poll_tun_write());
  if (r.kind == SendResult::Kind::kQueued) {
    run();
    ASSERT_GE(b_.packets.size(), 2u);
    for (const auto& f : b_.packets)
      EXPECT_LE(f.size(), 1220u);
    EXPECT_EQ(a_.device.peer_info(pa_)->boundary.fragments_made, b_.packets.size());
  } else {
    EXPECT_EQ(r.kind, SendResult::Kind::kDropped);
    EXPECT_EQ(r.reason, DropReason::kMtuExceeded);
    EXPECT_EQ(a_.device.peer_info(pa_)->drops.get(DropReason::kMtuExceeded), 1u);
  }
}

TEST_F(Boundary, Ipv4WithoutDfIsFragmentedAndArrives) {
  auto packet = ipv4_packet("10.0.0.1", "10.0.0.2", 3000, 17, false);
  EXPECT_EQ(send_packet(a_, packet).kind, SendResult::Kind::kQueued);
  run();
  ASSERT_EQ(b_.packets.size(), 3u);
  size_t payload = 0;
  for (const auto& f : b_.packets) {
    EXPECT_LE(f.size(), 1220u);
    payload += f.size() - 20;
  }
  EXPECT_EQ(payload, 3000u - 20);
  EXPECT_EQ(a_.device.peer_info(pa_)->boundary.fragments_made, 3u);
  EXPECT_EQ(a_.device.drops().total(), 0u);
}

TEST_F(Boundary, FittingPacketsPassUntouched) {
  auto packet = ipv4_packet("10.0.0.1", "10.0.0.2", 1220, 17, true);
  EXPECT_EQ(send_packet(a_, packet).kind, SendResult::Kind::kSend);
  run();
  ASSERT_EQ(b_.packets.size(), 1u);
  EXPECT_EQ(b_.packets[0], packet);
}

TEST_F(Boundary, SynMssClampedOnTheWayOut) {
  EXPECT_EQ(send_packet(a_, tcp_syn("10.0.0.1", "10.0.0.2", 1460, false)).kind,
            SendResult::Kind::kSend);
  run();
  ASSERT_EQ(b_.packets.size(), 1u);
  EXPECT_EQ(mss_of(b_.packets[0]), 1180);  // 1220 - 40
  EXPECT_EQ(a_.device.peer_info(pa_)->boundary.mss_clamped, 1u);
}

TEST_F(Boundary, SynAckMssClampedOnTheWayIn) {
  b_.device.set_mss_clamp(false);  // the peer does not clamp: we do, as the packet arrives
  EXPECT_EQ(send_packet(b_, tcp_syn("10.0.0.2", "10.0.0.1", 1460, true)).kind,
            SendResult::Kind::kSend);
  run();
  ASSERT_EQ(a_.packets.size(), 1u);
  EXPECT_EQ(mss_of(a_.packets[0]), 1180);
  EXPECT_EQ(a_.device.peer_info(pa_)->boundary.mss_clamped, 1u);
  EXPECT_EQ(b_.device.peer_info(pb_)->boundary.mss_clamped, 0u);
}

TEST_F(Boundary, SmallMssIsLeftAlone) {
  send_packet(a_, tcp_syn("10.0.0.1", "10.0.0.2", 1000, false));
  run();
  ASSERT_EQ(b_.packets.size(), 1u);
  EXPECT_EQ(mss_of(b_.packets[0]), 1000);
  EXPECT_EQ(a_.device.peer_info(pa_)->boundary.mss_clamped, 0u);
}

}  // namespace
}  // namespace tern::core

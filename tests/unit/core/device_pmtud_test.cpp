// Path MTU between two sans-I/O devices, on a fake clock: a simulated link that drops
// datagrams above its MTU (and sends no ICMP), which may shrink mid-test (a black hole), and
// a peer that drops probes as stock WireGuard does.
#include <gtest/gtest.h>

#include <vector>

#include "core/device_fixture.hpp"
#include "noise/path_probe_crypto.hpp"

namespace tern::core {
namespace {

using namespace test;

const Endpoint kAddrB6 = *Endpoint::parse("[2001:db8::2]:51820");

// Path MTU discovery off until a test enables it; probes to B can be dropped as stock
// WireGuard drops an unknown message type.
class Link : public DevicePair {
 public:
  explicit Link(Endpoint b_address = kAddrB) : DevicePair(config(b_address)) {}

  static PairConfig config(Endpoint b_address) {
    PairConfig c;
    c.b_address = b_address;
    c.discovery = false;
    c.link_mtu = 1500;
    return c;
  }

  void put(Datagram d) override {
    if (drop_probes_to_b_ && d.to == b_.address && wire::is_path_probe(d.bytes)) {
      ++sent_;
      ++probes_;
      return;
    }
    DevicePair::put(std::move(d));
  }

  void enable_both() {
    enable(a_);
    enable(b_);
  }

  bool drop_probes_to_b_ = false;
};

void connect(Link& l) {
  l.connect();
}

TEST(DevicePmtud, OffByDefaultSendsNoProbes) {
  Link l;
  connect(l);
  l.live(10s);
  EXPECT_EQ(l.probes_, 0u);
  EXPECT_EQ(l.a_.device.overlay_mtu(l.pa_), 1500u);
}

TEST(DevicePmtud, FindsThePathMtuAndAgreesOnTheOverlayMtu) {
  Link l;
  l.enable_both();
  l.link_mtu_ = 1480;
  connect(l);
  l.live(10s);
  auto info = *l.a_.device.peer_info(l.pa_);
  EXPECT_EQ(info.probe_support, ProbeSupport::kTern);
  EXPECT_EQ(info.path_mtu, 1480u);
  EXPECT_EQ(info.overlay_mtu, 1420u);  // 1480 - 60
  EXPECT_EQ(info.pmtud_state, PmtudState::kSearchComplete);
  EXPECT_EQ(info.announced_mtu, 1500u);
  EXPECT_GT(info.probes.pongs_received, 0u);
  EXPECT_EQ(l.a_.device.overlay_mtu(l.pa_), 1420u);
  // B searches too, on its own.
  EXPECT_EQ(l.b_.device.peer_info(l.pb_)->path_mtu, 1480u);
  // A's events: the first pong, then the MTU rising to what the path carries.
  ASSERT_FALSE(l.a_.events.empty());
  bool answered = false;
  size_t last_path = 0;
  for (const auto& e : l.a_.events) {
    answered |= e.kind == DeviceEvent::Kind::kProbesAnswered;
    if (e.kind == DeviceEvent::Kind::kPathMtuChanged) {
      EXPECT_FALSE(e.black_hole);
      last_path = e.new_path_mtu;
    }
  }
  EXPECT_TRUE(answered);
  EXPECT_EQ(last_path, 1480u);
  EXPECT_EQ(l.a_.device.drops().total(), 0u);
  EXPECT_EQ(l.b_.device.drops().total(), 0u);
}

TEST(DevicePmtud, SmallerAnnouncedMtuWins) {
  Link l;
  l.enable_both();
  l.b_.device.set_mtu(1380);
  connect(l);
  l.live(10s);
  EXPECT_EQ(l.a_.device.overlay_mtu(l.pa_), 1380u);
  EXPECT_EQ(l.a_.device.peer_info(l.pa_)->announced_mtu, 1380u);
  EXPECT_EQ(l.b_.device.overlay_mtu(l.pb_), 1380u);
}

TEST(DevicePmtud, BlackHoleFallsBackWithinFiveSecondsAndSearchesAgain) {
  Link l;
  l.enable_both();
  connect(l);
  l.live(15s);
  ASSERT_EQ(l.a_.device.peer_info(l.pa_)->path_mtu, 1500u);
  ASSERT_EQ(l.a_.device.overlay_mtu(l.pa_), 1440u);
  l.a_.events.clear();

  l.link_mtu_ = 1280;  // a smaller link appears; no ICMP says so
  auto took = l.until([&] { return l.a_.device.overlay_mtu(l.pa_) == 1220; }, 10s);
  ASSERT_TRUE(took) << "the overlay MTU did not fall back";
  EXPECT_LE(*took, 3100ms);
  RecordProperty(
      "black_hole_fallback_ms",
      static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(*took).count()));
  bool black_hole = false;
  for (const auto& e : l.a_.events) {
    if (e.kind == DeviceEvent::Kind::kPathMtuChanged && e.black_hole) {
      black_hole = true;
      EXPECT_EQ(e.old_path_mtu, 1500u);
      EXPECT_EQ(e.new_path_mtu, 1280u);
      EXPECT_EQ(e.new_overlay_mtu, 1220u);
    }
  }
  EXPECT_TRUE(black_hole);
  // The search confirms the base and stays there: nothing above passes.
  l.live(15s);
  auto info = *l.a_.device.peer_info(l.pa_);
  EXPECT_EQ(info.path_mtu, 1280u);
  EXPECT_EQ(info.overlay_mtu, 1220u);
  EXPECT_EQ(info.pmtud_state, PmtudState::kSearchComplete);

  // The link grows back: found again at the raise timer (10 minutes), not before.
  l.link_mtu_ = 1400;
  l.live(60s, /*data=*/0, 1s);
  EXPECT_EQ(l.a_.device.overlay_mtu(l.pa_), 1220u);
  l.live(600s, /*data=*/0, 1s);
  EXPECT_EQ(l.a_.device.peer_info(l.pa_)->path_mtu, 1400u);
  EXPECT_EQ(l.a_.device.overlay_mtu(l.pa_), 1340u);
}

TEST(DevicePmtud, OverIpv6TheOverheadIs80) {
  Link l(kAddrB6);
  l.enable_both();
  l.link_mtu_ = 1400;
  connect(l);
  l.live(10s);
  EXPECT_EQ(l.a_.device.peer_info(l.pa_)->path_mtu, 1400u);
  EXPECT_EQ(l.a_.device.overlay_mtu(l.pa_), 1320u);
}

TEST(DevicePmtud, StockWireGuardPeerKeepsTheConfiguredMtu) {
  Link l;
  l.enable(l.a_);
  l.drop_probes_to_b_ = true;  // B drops probes as an unknown message type
  l.link_mtu_ = 1280;
  connect(l);
  l.live(10s);
  auto info = *l.a_.device.peer_info(l.pa_);
  EXPECT_EQ(info.probe_support, ProbeSupport::kStock);
  EXPECT_EQ(info.path_mtu, std::nullopt);
  EXPECT_EQ(info.overlay_mtu, 1500u);  // as configured
  EXPECT_EQ(info.pmtud_state, PmtudState::kDisabled);
  EXPECT_EQ(info.probes.pings_sent, 2u);  // one round at the base, then quiet
  bool unanswered = false;
  for (const auto& e : l.a_.events) {
    unanswered |= e.kind == DeviceEvent::Kind::kProbesUnanswered;
    EXPECT_NE(e.kind, DeviceEvent::Kind::kPathMtuChanged);
  }
  EXPECT_TRUE(unanswered);
  l.live(300s, 200, 1s);
  EXPECT_EQ(l.a_.device.peer_info(l.pa_)->probes.pings_sent, 2u);
  l.live(301s, 200, 1s);  // the raise timer: one more round
  EXPECT_EQ(l.a_.device.peer_info(l.pa_)->probes.pings_sent, 4u);
  EXPECT_EQ(l.a_.device.overlay_mtu(l.pa_), 1500u);
}

TEST(DevicePmtud, PeerThatStartsAnsweringLaterIsSearched) {
  Link l;
  l.enable(l.a_);
  l.drop_probes_to_b_ = true;
  connect(l);
  l.live(5s);
  ASSERT_EQ(l.a_.device.peer_info(l.pa_)->probe_support, ProbeSupport::kStock);
  // B turns tern on: its ping tells A, which searches at once.
  l.drop_probes_to_b_ = false;
  l.enable(l.b_);
  l.live(10s);
  EXPECT_EQ(l.a_.device.peer_info(l.pa_)->probe_support, ProbeSupport::kTern);
  EXPECT_EQ(l.a_.device.peer_info(l.pa_)->path_mtu, 1500u);
}

// Probes written by hand, to check each drop.
class ProbeDrops : public ::testing::Test {
 protected:
  ProbeDrops() {
    l.enable_both();
    connect(l);
    l.live(1s);
    a_keys = *noise::derive_path_probe_keys(
        noise::LocalIdentity::from_private(l.a_.device.private_key()), l.b_.device.public_key());
  }

  std::vector<uint8_t> ping(size_t size = 200) {
    wire::PathProbeBody body;
    body.tx_id[0] = 7;
    std::vector<uint8_t> out(size);
    EXPECT_EQ(noise::seal_path_probe(a_keys, wire::ProbeType::kPing, body, size, out), size);
    return out;
  }

  ReceiveResult to_b(std::vector<uint8_t> d) {
    auto r = l.b_.device.receive_datagram(kAddrA, d, l.now_);
    return r;
  }

  Link l;
  noise::PathProbeKeys a_keys;
};

TEST_F(ProbeDrops, EachFailureHasItsReason) {
  auto bad_version = ping();
  bad_version[4] = 2;
  EXPECT_EQ(to_b(bad_version).reason, DropReason::kMalformed);

  auto stranger = ping();
  stranger[8] ^= 1;  // a hint no peer has
  EXPECT_EQ(to_b(stranger).reason, DropReason::kUnknownPeer);

  auto tampered = ping();
  tampered[100] ^= 1;
  EXPECT_EQ(to_b(tampered).reason, DropReason::kDecryptFailed);

  wire::PathProbeBody body;
  body.tx_id[0] = 9;
  std::vector<uint8_t> pong(92);
  ASSERT_EQ(noise::seal_path_probe(a_keys, wire::ProbeType::kPong, body, 92, pong), 92u);
  EXPECT_EQ(to_b(pong).reason, DropReason::kUnexpectedMessage);

  const auto& drops = l.b_.device.drops();
  EXPECT_EQ(drops.get(DropReason::kMalformed), 1u);
  EXPECT_EQ(drops.get(DropReason::kUnknownPeer), 1u);
  EXPECT_EQ(drops.get(DropReason::kDecryptFailed), 1u);
  EXPECT_EQ(drops.get(DropReason::kUnexpectedMessage), 1u);
}

TEST_F(ProbeDrops, PongsAreSmallAndRateLimited) {
  l.run();
  l.wire_.clear();
  const auto before = l.b_.device.peer_info(l.pb_)->probes.pongs_sent;
  for (int i = 0; i < 50; ++i) {
    auto r = to_b(ping(1400));
    EXPECT_NE(r.kind, ReceiveResult::Kind::kDeliver);
  }
  unsigned pongs = 0;
  while (auto t = l.b_.device.poll_transmit(l.now_)) {
    if (!wire::is_path_probe(t->data)) continue;
    ++pongs;
    EXPECT_EQ(t->data.size(), wire::kPathProbeMinSize);
    EXPECT_EQ(t->to, kAddrA);
  }
  const auto sent = l.b_.device.peer_info(l.pb_)->probes.pongs_sent - before;
  EXPECT_EQ(pongs, sent);
  EXPECT_LE(sent, PongLimiter::kBurst);
  EXPECT_GE(l.b_.device.drops().get(DropReason::kRateLimited), 50u - PongLimiter::kBurst);
}

TEST(PeerPath, OverlayMtuIsTheSmallestOfItsBounds) {
  const auto v4 = *IpAddress::parse("192.0.2.1");
  const auto v6 = *IpAddress::parse("2001:db8::1");
  EXPECT_EQ(overlay_mtu(1420, 0, std::nullopt, v4), 1420u);
  EXPECT_EQ(overlay_mtu(1420, 1380, std::nullopt, v4), 1380u);
  EXPECT_EQ(overlay_mtu(1420, 0, 1500, v4), 1420u);
  EXPECT_EQ(overlay_mtu(1500, 0, 1500, v4), 1440u);
  EXPECT_EQ(overlay_mtu(1500, 0, 1500, v6), 1420u);
  EXPECT_EQ(overlay_mtu(9000, 9000, 1280, v4), 1220u);
  EXPECT_EQ(overlay_mtu(9000, 100, std::nullopt, v4), kMinAnnouncedMtu);
  EXPECT_EQ(probe_message_size(1500, v4), 1472u);
  EXPECT_EQ(probe_message_size(1280, v6), 1232u);
  EXPECT_EQ(probe_message_size(100, v4), 0u);
}

TEST(PeerPath, PongLimiterRefills) {
  PongLimiter l;
  Instant t = instant_from_ns(1'000'000'000);
  for (unsigned i = 0; i < PongLimiter::kBurst; ++i)
    EXPECT_TRUE(l.allow(t));
  EXPECT_FALSE(l.allow(t));
  EXPECT_TRUE(l.allow(t + PongLimiter::kInterval));
  EXPECT_FALSE(l.allow(t + PongLimiter::kInterval));
  t += 10s;
  for (unsigned i = 0; i < PongLimiter::kBurst; ++i)
    EXPECT_TRUE(l.allow(t));
  EXPECT_FALSE(l.allow(t));
}

}  // namespace
}  // namespace tern::core

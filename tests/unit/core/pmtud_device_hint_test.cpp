// The device's side of local send errors, on a fake clock: side A's outgoing interface refuses
// datagrams above its MTU (EMSGSIZE, reported with Device::on_send_too_big, as the agent does),
// the link beyond it drops what is above the link MTU. Jumbo links are searched whole.
#include <vector>

#include "core/device_fixture.hpp"

namespace tern::core {
namespace {

using namespace test;

// A's outgoing interface refuses what exceeds local_mtu_a_, and says so as the agent does.
class JumboLink : public DevicePair {
 public:
  explicit JumboLink(size_t tun_mtu) : DevicePair(config(tun_mtu)) {}

  static PairConfig config(size_t tun_mtu) {
    PairConfig c;
    c.mtu = tun_mtu;
    c.max_path_mtu = 9000;
    c.link_mtu = 9000;
    return c;
  }

  void put(Datagram d) override {
    if (d.from == kAddrA && d.bytes.size() + headers() > local_mtu_a_) {
      a_.device.on_send_too_big(d.to, d.bytes.size(), now_);  // as the agent reports EMSGSIZE
      (wire::is_path_probe(d.bytes) ? refused_probes_ : refused_data_) += 1;
      return;
    }
    DevicePair::put(std::move(d));
  }

  SendResult send_data(size_t total) { return send(a_, total); }

  // The smallest overlay MTU A's events named since `from`.
  size_t lowest_overlay_a(size_t from) const {
    size_t lowest = from;
    for (size_t i = events_seen_; i < a_.events.size(); ++i) {
      if (a_.events[i].kind == DeviceEvent::Kind::kPathMtuChanged)
        lowest = std::min(lowest, a_.events[i].new_overlay_mtu);
    }
    return lowest;
  }
  void mark_events() { events_seen_ = a_.events.size(); }

  size_t local_mtu_a_ = 9000;
  size_t refused_probes_ = 0, refused_data_ = 0;
  size_t events_seen_ = 0;
};

// TUN MTU 8940 + 60 (IPv4, UDP, WireGuard) is 9000: the search has no reason to stop short.
TEST(PmtudDeviceHint, JumboLinkIsSearchedToItsMtu) {
  JumboLink l(8940);
  l.connect();
  l.live(10s);
  EXPECT_EQ(l.info().path_mtu, 9000u);
  EXPECT_EQ(l.info().overlay_mtu, 8940u);
  EXPECT_EQ(l.a_.device.drops().get(DropReason::kTooBigForPath), 0u);
  EXPECT_EQ(l.a_.device.drops().get(DropReason::kSendFailed), 0u);
}

TEST(PmtudDeviceHint, RefusedProbesCapTheSearchAtOnceAndAreCountedApart) {
  JumboLink l(8920);
  l.local_mtu_a_ = 1500;  // the route to B leaves through a 1500-byte interface
  l.connect();
  l.live(2s);
  EXPECT_EQ(l.info().path_mtu, 1500u);
  EXPECT_EQ(l.info().pmtud_state, PmtudState::kSearchComplete);
  EXPECT_EQ(l.refused_probes_, 1u);  // the 2000-byte step, once: no retries, no waiting
  EXPECT_EQ(l.a_.device.drops().get(DropReason::kTooBigForPath), 1u);
  EXPECT_EQ(l.info().drops.get(DropReason::kTooBigForPath), 1u);
  EXPECT_EQ(l.a_.device.drops().get(DropReason::kSendFailed), 0u);
}

TEST(PmtudDeviceHint, RefusedDataConfirmsDownwardAtOnce) {
  JumboLink l(8940);
  l.connect();
  l.live(10s);
  ASSERT_EQ(l.info().path_mtu, 9000u);
  // The interface shrinks to 1500 (and the link with it); the next large packet is refused.
  l.local_mtu_a_ = 1500;
  l.link_mtu_ = 1500;
  l.mark_events();
  l.send_data(8000);
  EXPECT_EQ(l.refused_data_, 1u);
  // At once, before any timer: the steps below it are tried down to the first that leaves
  // this host (8000, 4000 and 2000 are refused too), in use while its probe is out.
  EXPECT_EQ(l.refused_probes_, 3u);
  EXPECT_EQ(l.info().path_mtu, 1500u);
  EXPECT_EQ(l.info().overlay_mtu, 1440u);
  EXPECT_EQ(l.info().pmtud_state, PmtudState::kSearching);
  // Its pong confirms it.
  l.run();
  l.live(1s);
  EXPECT_EQ(l.info().path_mtu, 1500u);
  EXPECT_EQ(l.info().overlay_mtu, 1440u);
  EXPECT_EQ(l.info().pmtud_state, PmtudState::kSearchComplete);
  EXPECT_EQ(l.refused_probes_, 3u);
  EXPECT_EQ(l.lowest_overlay_a(1440), 1440u);  // never the base's 1220 on the way
  EXPECT_EQ(l.a_.device.drops().get(DropReason::kTooBigForPath), 4u);
  EXPECT_EQ(l.a_.device.drops().get(DropReason::kSendFailed), 0u);
}

// The defect this guards against: after one refused packet on a settled path, every flow was
// held at the base (overlay 1220) until a probe round climbed back, and a 1300-byte packet got
// a Packet Too Big or was fragmented. The hinted size stays in use while it is confirmed.
TEST(PmtudDeviceHint, RefusedDataDoesNotHoldFlowsAtTheBase) {
  JumboLink l(1440);  // searched up to 1500
  l.connect();
  l.live(5s);
  ASSERT_EQ(l.info().path_mtu, 1500u);
  ASSERT_EQ(l.info().overlay_mtu, 1440u);
  l.local_mtu_a_ = 1420;  // a route through a smaller interface; a full-size packet is refused
  l.link_mtu_ = 1420;
  l.mark_events();
  l.send_data(1440);
  EXPECT_EQ(l.refused_data_, 1u);
  EXPECT_EQ(l.refused_probes_, 4u);  // 1492, 1480, 1460, 1440: refused at once
  EXPECT_EQ(l.info().path_mtu, 1420u);
  EXPECT_EQ(l.info().overlay_mtu, 1360u);
  // Before its pong: a 1300-byte packet goes out whole.
  EXPECT_EQ(l.send_data(1300).kind, SendResult::Kind::kSend);
  l.run();
  l.live(3s);
  EXPECT_EQ(l.info().path_mtu, 1420u);
  EXPECT_EQ(l.info().pmtud_state, PmtudState::kSearchComplete);
  EXPECT_EQ(l.lowest_overlay_a(1440), 1360u);
  EXPECT_EQ(l.info().boundary.fragments_made, 0u);
  EXPECT_EQ(l.info().boundary.ptb_sent, 0u);
}

TEST(PmtudDeviceHint, WithoutDiscoveryOnlyCounts) {
  JumboLink l(1420);
  l.a_.device.set_path_mtu_discovery(false, l.now_);
  l.a_.device.on_send_too_big(kAddrB, 1500, l.now_);
  l.a_.device.on_send_too_big(*Endpoint::parse("198.51.100.1:1"), 1500, l.now_);
  EXPECT_EQ(l.a_.device.drops().get(DropReason::kTooBigForPath), 2u);
  EXPECT_EQ(l.info().drops.get(DropReason::kTooBigForPath), 1u);
  EXPECT_EQ(l.info().path_mtu, std::nullopt);
}

}  // namespace
}  // namespace tern::core

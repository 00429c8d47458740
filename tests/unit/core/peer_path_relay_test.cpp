// Path MTU over a TURN relay, on a fake clock: A reaches B through a relay whose leg from A
// carries each message with the relay's framing (ChannelData 4 bytes, or a Send indication)
// and drops what exceeds its MTU without ICMP; the relay hands B the bare message from A's
// relayed address. A's search runs on that leg and its overlay MTU counts the framing.
#include <vector>

#include "core/device_fixture.hpp"

namespace tern::core {
namespace {

using namespace test;

const Endpoint kRelayedA = *Endpoint::parse("198.51.100.7:49152");  // A's allocation
const auto kV4 = *IpAddress::parse("192.0.2.1");
const auto kV6 = *IpAddress::parse("2001:db8::1");

class RelayedLink : public DevicePair {
 public:
  RelayedLink() { set_framing(kSendIndicationFramingV4); }

  // Connected on a leg with this framing, and searched (10 s).
  void settle(size_t framing = kChannelDataFraming) {
    set_framing(framing);
    connect();
    live(10s);
  }

  void set_framing(size_t framing) {
    framing_ = framing;
    a_.device.set_relay_leg(pa_, PathLeg{false, framing}, now_);
    collect();
  }

  // A's datagrams cross the leg to the relay, framed, and reach B from A's relayed address;
  // B's answers go to that address and reach A from B's.
  void put(Datagram d) override {
    if (d.from == a_.address) {
      EXPECT_EQ(d.to, kAddrB);  // the relay sends to B's own address
      largest_from_a_ = std::max(largest_from_a_, d.bytes.size());
      // The leg to the relay: IPv4 + UDP + the framing around the message.
      if (d.bytes.size() + framing_ + 28 > leg_mtu_) return;
      d.from = kRelayedA;
    } else {
      EXPECT_EQ(d.to, kRelayedA);  // B answers the relayed address, as it would any peer
      d.to = a_.address;
    }
    wire_.push_back(std::move(d));
  }

  size_t leg_mtu_ = 1500;
  size_t framing_ = 0;
  size_t largest_from_a_ = 0;
};

TEST(PeerPathRelay, OverheadCountsTheRelayFraming) {
  // Direct: IPv4 + UDP + WireGuard = 60, IPv6 80.
  EXPECT_EQ(encapsulation_overhead(direct_leg(kV4)), 60u);
  EXPECT_EQ(encapsulation_overhead(direct_leg(kV6)), 80u);
  // ChannelData: 4 more; a Send indication: header, peer address, DATA header, padding.
  EXPECT_EQ(encapsulation_overhead(PathLeg{false, kChannelDataFraming}), 64u);
  EXPECT_EQ(encapsulation_overhead(PathLeg{true, kChannelDataFraming}), 84u);
  EXPECT_EQ(send_indication_framing(kV4), 39u);
  EXPECT_EQ(send_indication_framing(kV6), 51u);
  EXPECT_EQ(encapsulation_overhead(PathLeg{false, send_indication_framing(kV4)}), 99u);
  // Probe messages shrink by the framing so the framed datagram is the size probed.
  EXPECT_EQ(probe_message_size(1500, PathLeg{false, 4}), 1468u);
  EXPECT_EQ(probe_message_size(1280, PathLeg{true, 4}), 1228u);
  EXPECT_EQ(probe_message_size(1280, PathLeg{false, 39}), 1213u);
  EXPECT_EQ(probe_message_size(1500, direct_leg(kV4)), probe_message_size(1500, kV4));
  // The overlay MTU: path MTU less the whole overhead, as on a direct path.
  EXPECT_EQ(overlay_mtu(1500, 0, 1500, PathLeg{false, 4}), 1436u);
  EXPECT_EQ(overlay_mtu(1500, 0, 1280, PathLeg{false, 4}), 1216u);
  EXPECT_EQ(overlay_mtu(1500, 0, 1280, PathLeg{true, 4}), 1196u);
  EXPECT_EQ(overlay_mtu(1500, 0, 1500, PathLeg{false, 39}), 1401u);
  EXPECT_EQ(overlay_mtu(1420, 0, 1500, PathLeg{false, 4}), 1420u);  // the device MTU bounds it
  // Without a path MTU (not probed yet, stock peer) the framing changes nothing.
  EXPECT_EQ(overlay_mtu(1420, 0, std::nullopt, PathLeg{false, 39}), 1420u);
}

TEST(PeerPathRelay, StreamLegCountsPaddingAndKeepsTheConfiguredMtu) {
  // Over TCP ChannelData is padded to 4 (up to 3 bytes) and TCP's header replaces UDP's.
  EXPECT_EQ(kChannelDataStreamFraming, 7u);
  const PathLeg tcp{false, kChannelDataStreamFraming + kTcpOverUdpHeader, true};
  EXPECT_EQ(encapsulation_overhead(tcp), 60u + 7u + 24u);
  EXPECT_EQ(
      encapsulation_overhead(PathLeg{true, kChannelDataStreamFraming + kTcpOverUdpHeader, true}),
      80u + 7u + 24u);
  // A path MTU found over TCP says nothing: TCP segments; the configured MTU stands.
  EXPECT_EQ(overlay_mtu(1420, 0, 1280, tcp), 1420u);
  EXPECT_EQ(overlay_mtu(1420, 0, std::nullopt, tcp), 1420u);
  EXPECT_EQ(overlay_mtu(1420, 1300, 1280, tcp), 1300u);  // what the peer announced still counts
  // The same leg without `stream` would follow the path MTU.
  EXPECT_EQ(overlay_mtu(1420, 0, 1280, PathLeg{false, tcp.relay_framing}), 1280u - 91u);
  EXPECT_NE(tcp, (PathLeg{false, tcp.relay_framing}));
}

// A table: every leg MTU and framing gives the path MTU of the largest step that fits, and an
// overlay MTU whose largest datagram, framed, fits the leg.
TEST(PeerPathRelay, SearchFindsTheLegMtuWithChannelData) {
  struct Row {
    size_t leg_mtu, path_mtu, overlay;
  };
  for (const Row& row : {Row{1500, 1500, 1436}, Row{1280, 1280, 1216}, Row{1400, 1400, 1336},
                         Row{1450, 1440, 1376}}) {
    RelayedLink l;
    l.leg_mtu_ = row.leg_mtu;
    l.settle();
    auto info = *l.a_.device.peer_info(l.pa_);
    EXPECT_EQ(info.probe_support, ProbeSupport::kTern) << row.leg_mtu;
    EXPECT_EQ(info.path_mtu, row.path_mtu) << row.leg_mtu;
    EXPECT_EQ(info.overlay_mtu, row.overlay) << row.leg_mtu;
    EXPECT_EQ(l.a_.device.overlay_mtu(l.pa_), row.overlay);
    // A full-size inner packet goes out as one message that fits the leg once framed.
    l.largest_from_a_ = 0;
    l.send(l.a_, row.overlay);
    EXPECT_LE(l.largest_from_a_ + 4 + 28, row.leg_mtu);
    EXPECT_EQ(l.a_.device.drops().total(), 0u);
  }
}

TEST(PeerPathRelay, ChannelBindingRestartsTheSearchWithTheSmallerFraming) {
  RelayedLink l;
  l.settle(kSendIndicationFramingV4);
  auto before = *l.a_.device.peer_info(l.pa_);
  EXPECT_EQ(before.path_mtu, 1500u);
  EXPECT_EQ(before.overlay_mtu, 1401u);  // Send indications: 1500 - 60 - 39

  l.set_framing(kChannelDataFraming);  // the channel is bound
  auto took = l.until([&] { return l.a_.device.overlay_mtu(l.pa_) == 1436u; }, 10s);
  ASSERT_TRUE(took) << "the overlay MTU did not follow the ChannelData framing";
  EXPECT_EQ(l.a_.device.peer_info(l.pa_)->path_mtu, 1500u);
  EXPECT_EQ(l.a_.device.drops().get(DropReason::kMalformed), 0u);

  // Back to direct: the framing no longer counts.
  l.framing_ = 0;
  l.a_.device.set_relay_leg(l.pa_, std::nullopt, l.now_);
  auto direct = l.until([&] { return l.a_.device.overlay_mtu(l.pa_) == 1440u; }, 10s);
  EXPECT_TRUE(direct);
}

TEST(PeerPathRelay, BlackHoleOnTheRelayLegFallsBack) {
  RelayedLink l;
  l.settle();
  ASSERT_EQ(l.a_.device.overlay_mtu(l.pa_), 1436u);
  l.leg_mtu_ = 1280;  // the leg to the relay shrinks; no ICMP
  auto took = l.until([&] { return l.a_.device.overlay_mtu(l.pa_) == 1216u; }, 10s);
  ASSERT_TRUE(took) << "the overlay MTU did not fall back";
  EXPECT_LE(*took, 3100ms);
  RecordProperty(
      "relay_black_hole_fallback_ms",
      static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(*took).count()));
}

// The way to the relay shrinks below the size in use and this host's interface says so
// (EMSGSIZE on the relay's socket): the search goes down at once, before any probe is lost,
// and the framed size counts with the relay leg's headers.
TEST(PeerPathRelay, RefusedRelayedDataConfirmsDownwardAtOnce) {
  RelayedLink l;
  l.settle();
  ASSERT_EQ(l.a_.device.overlay_mtu(l.pa_), 1436u);
  const uint64_t before = l.a_.device.drops().get(DropReason::kTooBigForPath);
  l.leg_mtu_ = 1400;
  // A 1436-byte inner packet: message 1468, framed 1472, 1500 on the wire: refused.
  l.a_.device.on_relay_send_too_big(kAddrB, 1436 + 32 + 4, l.now_);
  EXPECT_EQ(l.a_.device.drops().get(DropReason::kTooBigForPath), before + 1);
  // At once: the step below the refused size (1492, less 64), in use while it is probed.
  EXPECT_EQ(l.a_.device.overlay_mtu(l.pa_), 1428u);
  // Its probes are lost beyond this host (the leg carries 1400): the base, then 1400.
  auto took = l.until([&] { return l.a_.device.overlay_mtu(l.pa_) == 1336u; }, 10s);
  ASSERT_TRUE(took) << "the search did not settle on the 1400 leg";
  EXPECT_EQ(l.a_.device.peer_info(l.pa_)->path_mtu, 1400u);
  // A hint about a peer that is not relayed (or unknown) only counts.
  l.a_.device.on_relay_send_too_big(*Endpoint::parse("192.0.2.99:1"), 1400, l.now_);
  EXPECT_EQ(l.a_.device.overlay_mtu(l.pa_), 1336u);
}

}  // namespace
}  // namespace tern::core

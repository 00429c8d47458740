// Path MTU over a TURN relay, on a fake clock: A reaches B through a relay whose leg from A
// carries each message with the relay's framing (ChannelData 4 bytes, or a Send indication)
// and drops what exceeds its MTU without ICMP; the relay hands B the bare message from A's
// relayed address. A's search runs on that leg and its overlay MTU counts the framing.
#include <gtest/gtest.h>

#include <cstring>
#include <functional>
#include <vector>

#include "core/device.hpp"
#include "crypto/x25519.hpp"
#include "wire/path_probe.hpp"

namespace tern::core {
namespace {

using namespace std::chrono_literals;

const Endpoint kAddrA = *Endpoint::parse("192.0.2.1:51820");
const Endpoint kRelayedA = *Endpoint::parse("198.51.100.7:49152");  // A's allocation
const Endpoint kAddrB = *Endpoint::parse("203.0.113.2:51820");
const auto kV4 = *IpAddress::parse("192.0.2.1");
const auto kV6 = *IpAddress::parse("2001:db8::1");

std::vector<uint8_t> ipv4_packet(const char* src, const char* dst, size_t total) {
  std::vector<uint8_t> p(total, 0xab);
  p[0] = 0x45;
  p[2] = static_cast<uint8_t>(total >> 8);
  p[3] = static_cast<uint8_t>(total);
  std::memcpy(&p[12], IpAddress::parse(src)->data(), 4);
  std::memcpy(&p[16], IpAddress::parse(dst)->data(), 4);
  return p;
}

struct Datagram {
  bool to_b = true;
  std::vector<uint8_t> bytes;
};

class RelayedLink {
 public:
  RelayedLink() : a_(crypto::generate_private_key()), b_(crypto::generate_private_key()) {
    for (Device* d : {&a_, &b_}) {
      d->set_wall_clock(WallTime{1'700'000'000'000'000'000}, now_);
      d->set_mtu(1500);
      d->set_path_mtu_discovery(true, now_);
    }
    pa_ = *a_.add_peer(b_.public_key());
    pb_ = *b_.add_peer(a_.public_key());
    a_.add_allowed_ip(pa_, *IpPrefix::parse("10.0.0.2/32"));
    b_.add_allowed_ip(pb_, *IpPrefix::parse("10.0.0.1/32"));
    a_.set_endpoint(pa_, kAddrB);  // the relay sends to B's own address
    set_framing(kSendIndicationFramingV4);
  }

  void set_framing(size_t framing) {
    framing_ = framing;
    a_.set_relay_leg(pa_, PathLeg{false, framing}, now_);
    collect();
  }

  void send_a(size_t total) {
    auto packet = ipv4_packet("10.0.0.1", "10.0.0.2", total);
    std::vector<uint8_t> buf(kSendHeadroom + packet.size() + kSendTailroom);
    std::memcpy(buf.data() + kSendHeadroom, packet.data(), packet.size());
    auto r = a_.send_packet(buf, packet.size(), now_);
    if (r.kind == SendResult::Kind::kSend) {
      EXPECT_EQ(r.to, kAddrB);
      put({true, std::vector<uint8_t>(buf.begin(), buf.begin() + r.length)});
    }
    collect();
  }

  void put(Datagram d) {
    if (d.to_b) {
      largest_from_a_ = std::max(largest_from_a_, d.bytes.size());
      // The leg to the relay: IPv4 + UDP + the framing around the message.
      if (d.bytes.size() + framing_ + 28 > leg_mtu_) return;
    }
    wire_.push_back(std::move(d));
  }

  void collect() {
    while (auto t = a_.poll_transmit(now_))
      put({true, std::vector<uint8_t>(t->data.begin(), t->data.end())});
    while (auto t = b_.poll_transmit(now_)) {
      EXPECT_EQ(t->to, kRelayedA);  // B answers the relayed address, as it would any peer
      put({false, std::vector<uint8_t>(t->data.begin(), t->data.end())});
    }
    while (a_.poll_event()) {
    }
    while (b_.poll_event()) {
    }
  }

  void run() {
    for (unsigned i = 0; i < 10000 && !wire_.empty(); ++i) {
      Datagram d = std::move(wire_.front());
      wire_.erase(wire_.begin());
      // What A hears comes from B's address (the relay names the peer); B hears A's
      // relayed address.
      if (d.to_b) {
        (void)b_.receive_datagram(kRelayedA, d.bytes, now_);
      } else {
        (void)a_.receive_datagram(kAddrB, d.bytes, now_);
      }
      collect();
    }
  }

  void live(Duration total) {
    for (Duration t{0}; t < total; t += 100ms) {
      now_ += 100ms;
      a_.handle_timeout(now_);
      b_.handle_timeout(now_);
      collect();
      send_a(200);
      run();
    }
  }

  std::optional<Duration> until(const std::function<bool()>& done, Duration limit) {
    const Instant start = now_;
    while (now_ - start <= limit) {
      if (done()) return now_ - start;
      live(100ms);
    }
    return std::nullopt;
  }

  Device a_, b_;
  PeerId pa_ = 0, pb_ = 0;
  Instant now_ = instant_from_ns(5'000'000'000);
  std::vector<Datagram> wire_;
  size_t leg_mtu_ = 1500;
  size_t framing_ = 0;
  size_t largest_from_a_ = 0;
};

void connect(RelayedLink& l) {
  l.send_a(100);
  l.run();
  ASSERT_NE(l.a_.peer_info(l.pa_)->last_handshake, std::nullopt);
}

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
    l.set_framing(kChannelDataFraming);
    connect(l);
    l.live(10s);
    auto info = *l.a_.peer_info(l.pa_);
    EXPECT_EQ(info.probe_support, ProbeSupport::kTern) << row.leg_mtu;
    EXPECT_EQ(info.path_mtu, row.path_mtu) << row.leg_mtu;
    EXPECT_EQ(info.overlay_mtu, row.overlay) << row.leg_mtu;
    EXPECT_EQ(l.a_.overlay_mtu(l.pa_), row.overlay);
    // A full-size inner packet goes out as one message that fits the leg once framed.
    l.largest_from_a_ = 0;
    l.send_a(row.overlay);
    EXPECT_LE(l.largest_from_a_ + 4 + 28, row.leg_mtu);
    EXPECT_EQ(l.a_.drops().total(), 0u);
  }
}

TEST(PeerPathRelay, ChannelBindingRestartsTheSearchWithTheSmallerFraming) {
  RelayedLink l;
  l.leg_mtu_ = 1500;
  connect(l);
  l.live(10s);
  auto before = *l.a_.peer_info(l.pa_);
  EXPECT_EQ(before.path_mtu, 1500u);
  EXPECT_EQ(before.overlay_mtu, 1401u);  // Send indications: 1500 - 60 - 39

  l.set_framing(kChannelDataFraming);  // the channel is bound
  auto took = l.until([&] { return l.a_.overlay_mtu(l.pa_) == 1436u; }, 10s);
  ASSERT_TRUE(took) << "the overlay MTU did not follow the ChannelData framing";
  EXPECT_EQ(l.a_.peer_info(l.pa_)->path_mtu, 1500u);
  EXPECT_EQ(l.a_.drops().get(DropReason::kMalformed), 0u);

  // Back to direct: the framing no longer counts.
  l.framing_ = 0;
  l.a_.set_relay_leg(l.pa_, std::nullopt, l.now_);
  auto direct = l.until([&] { return l.a_.overlay_mtu(l.pa_) == 1440u; }, 10s);
  EXPECT_TRUE(direct);
}

TEST(PeerPathRelay, BlackHoleOnTheRelayLegFallsBack) {
  RelayedLink l;
  l.set_framing(kChannelDataFraming);
  connect(l);
  l.live(10s);
  ASSERT_EQ(l.a_.overlay_mtu(l.pa_), 1436u);
  l.leg_mtu_ = 1280;  // the leg to the relay shrinks; no ICMP
  auto took = l.until([&] { return l.a_.overlay_mtu(l.pa_) == 1216u; }, 10s);
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
  l.set_framing(kChannelDataFraming);
  connect(l);
  l.live(10s);
  ASSERT_EQ(l.a_.overlay_mtu(l.pa_), 1436u);
  const uint64_t before = l.a_.drops().get(DropReason::kTooBigForPath);
  l.leg_mtu_ = 1400;
  // A 1436-byte inner packet: message 1468, framed 1472, 1500 on the wire: refused.
  l.a_.on_relay_send_too_big(kAddrB, 1436 + 32 + 4, l.now_);
  EXPECT_EQ(l.a_.drops().get(DropReason::kTooBigForPath), before + 1);
  EXPECT_LT(l.a_.overlay_mtu(l.pa_), 1436u);  // back to the base at once
  auto took = l.until([&] { return l.a_.overlay_mtu(l.pa_) == 1336u; }, 10s);
  ASSERT_TRUE(took) << "the search did not settle on the 1400 leg";
  EXPECT_EQ(l.a_.peer_info(l.pa_)->path_mtu, 1400u);
  // A hint about a peer that is not relayed (or unknown) only counts.
  l.a_.on_relay_send_too_big(*Endpoint::parse("192.0.2.99:1"), 1400, l.now_);
  EXPECT_EQ(l.a_.overlay_mtu(l.pa_), 1336u);
}

}  // namespace
}  // namespace tern::core

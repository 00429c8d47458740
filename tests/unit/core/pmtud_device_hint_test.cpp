// The device's side of local send errors, on a fake clock: side A's outgoing interface refuses
// datagrams above its MTU (EMSGSIZE, reported with Device::on_send_too_big, as the agent does),
// the link beyond it drops what is above the link MTU. Jumbo links are searched whole.
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "core/device.hpp"
#include "crypto/x25519.hpp"
#include "wire/path_probe.hpp"

namespace tern::core {
namespace {

using namespace std::chrono_literals;

const Endpoint kAddrA = *Endpoint::parse("192.0.2.1:51820");
const Endpoint kAddrB = *Endpoint::parse("192.0.2.2:51820");
constexpr size_t kHeaders = 28;  // IPv4 + UDP

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
  Endpoint from, to;
  std::vector<uint8_t> bytes;
};

class JumboLink {
 public:
  explicit JumboLink(size_t tun_mtu)
      : a_(crypto::generate_private_key()), b_(crypto::generate_private_key()) {
    for (Device* d : {&a_, &b_}) {
      d->set_wall_clock(WallTime{1'700'000'000'000'000'000}, now_);
      d->set_mtu(tun_mtu);
      d->set_max_path_mtu(9000);
      d->set_path_mtu_discovery(true, now_);
    }
    pa_ = *a_.add_peer(b_.public_key());
    pb_ = *b_.add_peer(a_.public_key());
    a_.add_allowed_ip(pa_, *IpPrefix::parse("10.0.0.2/32"));
    b_.add_allowed_ip(pb_, *IpPrefix::parse("10.0.0.1/32"));
    a_.set_endpoint(pa_, kAddrB);
  }

  void send_data(size_t total) {
    auto packet = ipv4_packet("10.0.0.1", "10.0.0.2", total);
    std::vector<uint8_t> buf(kSendHeadroom + packet.size() + kSendTailroom);
    std::memcpy(buf.data() + kSendHeadroom, packet.data(), packet.size());
    auto r = a_.send_packet(buf, packet.size(), now_);
    if (r.kind == SendResult::Kind::kSend) {
      put({kAddrA, r.to, std::vector<uint8_t>(buf.begin(), buf.begin() + r.length)});
    }
    collect();
  }

  void put(Datagram d) {
    const bool probe = wire::is_path_probe(d.bytes);
    if (d.from == kAddrA && d.bytes.size() + kHeaders > local_mtu_a_) {
      a_.on_send_too_big(d.to, d.bytes.size(), now_);  // as the agent reports EMSGSIZE
      (probe ? refused_probes_ : refused_data_) += 1;
      return;
    }
    if (d.bytes.size() + kHeaders > link_mtu_) return;  // silently gone
    wire_.push_back(std::move(d));
  }

  void collect() {
    for (Device* d : {&a_, &b_}) {
      const Endpoint from = d == &a_ ? kAddrA : kAddrB;
      while (auto t = d->poll_transmit(now_)) {
        put({from, t->to, std::vector<uint8_t>(t->data.begin(), t->data.end())});
      }
      while (d->poll_event()) {
      }
    }
  }

  void run() {
    for (unsigned i = 0; i < 10000 && !wire_.empty(); ++i) {
      Datagram d = std::move(wire_.front());
      wire_.erase(wire_.begin());
      Device& dst = d.to == kAddrA ? a_ : b_;
      (void)dst.receive_datagram(d.from, d.bytes, now_);
      collect();
    }
  }

  void live(Duration total, size_t data_size = 200) {
    for (Duration t{0}; t < total; t += 100ms) {
      now_ += 100ms;
      a_.handle_timeout(now_);
      b_.handle_timeout(now_);
      collect();
      send_data(data_size);
      run();
    }
  }

  PeerInfo info() const { return *a_.peer_info(pa_); }

  Device a_, b_;
  PeerId pa_ = 0, pb_ = 0;
  Instant now_ = instant_from_ns(5'000'000'000);
  std::vector<Datagram> wire_;
  size_t local_mtu_a_ = 9000;
  size_t link_mtu_ = 9000;
  size_t refused_probes_ = 0, refused_data_ = 0;
};

// TUN MTU 8940 + 60 (IPv4, UDP, WireGuard) is 9000: the search has no reason to stop short.
TEST(PmtudDeviceHint, JumboLinkIsSearchedToItsMtu) {
  JumboLink l(8940);
  l.send_data(100);  // the handshake
  l.run();
  l.live(10s);
  EXPECT_EQ(l.info().path_mtu, 9000u);
  EXPECT_EQ(l.info().overlay_mtu, 8940u);
  EXPECT_EQ(l.a_.drops().get(DropReason::kTooBigForPath), 0u);
  EXPECT_EQ(l.a_.drops().get(DropReason::kSendFailed), 0u);
}

TEST(PmtudDeviceHint, RefusedProbesCapTheSearchAtOnceAndAreCountedApart) {
  JumboLink l(8920);
  l.local_mtu_a_ = 1500;  // the route to B leaves through a 1500-byte interface
  l.send_data(100);
  l.run();
  l.live(2s);
  EXPECT_EQ(l.info().path_mtu, 1500u);
  EXPECT_EQ(l.info().pmtud_state, PmtudState::kSearchComplete);
  EXPECT_EQ(l.refused_probes_, 1u);  // the 2000-byte step, once: no retries, no waiting
  EXPECT_EQ(l.a_.drops().get(DropReason::kTooBigForPath), 1u);
  EXPECT_EQ(l.info().drops.get(DropReason::kTooBigForPath), 1u);
  EXPECT_EQ(l.a_.drops().get(DropReason::kSendFailed), 0u);
}

TEST(PmtudDeviceHint, RefusedDataConfirmsDownwardAtOnce) {
  JumboLink l(8940);
  l.send_data(100);
  l.run();
  l.live(10s);
  ASSERT_EQ(l.info().path_mtu, 9000u);
  // The interface shrinks to 1500 (and the link with it); the next large packet is refused.
  l.local_mtu_a_ = 1500;
  l.link_mtu_ = 1500;
  l.send_data(8000);
  EXPECT_EQ(l.refused_data_, 1u);
  // At once, before any timer: the overlay MTU is the base's, and the base probe is out.
  EXPECT_EQ(l.info().path_mtu, 1280u);
  EXPECT_EQ(l.info().overlay_mtu, 1220u);
  EXPECT_EQ(l.info().pmtud_state, PmtudState::kBase);
  // Each step back up is confirmed by a pong; the first step above the interface is refused
  // at once and ends the search.
  l.run();
  l.live(1s);
  EXPECT_EQ(l.info().path_mtu, 1500u);
  EXPECT_EQ(l.info().overlay_mtu, 1440u);
  EXPECT_EQ(l.info().pmtud_state, PmtudState::kSearchComplete);
  EXPECT_EQ(l.refused_probes_, 1u);
  EXPECT_EQ(l.a_.drops().get(DropReason::kTooBigForPath), 2u);
  EXPECT_EQ(l.a_.drops().get(DropReason::kSendFailed), 0u);
}

TEST(PmtudDeviceHint, WithoutDiscoveryOnlyCounts) {
  JumboLink l(1420);
  l.a_.set_path_mtu_discovery(false, l.now_);
  l.a_.on_send_too_big(kAddrB, 1500, l.now_);
  l.a_.on_send_too_big(*Endpoint::parse("198.51.100.1:1"), 1500, l.now_);
  EXPECT_EQ(l.a_.drops().get(DropReason::kTooBigForPath), 2u);
  EXPECT_EQ(l.info().drops.get(DropReason::kTooBigForPath), 1u);
  EXPECT_EQ(l.info().path_mtu, std::nullopt);
}

}  // namespace
}  // namespace tern::core

// Fuzzes the whole device from the network side: arbitrary datagrams reach a
// device that has a peer and an established session, and arbitrary "TUN"
// packets reach its send path. Every input must be dropped and counted or
// handled; nothing may crash, leak or stall (asserted by the drop counters
// adding up). Path MTU discovery is on, B's MTU is small so the TUN boundary
// (PTB, fragments, MSS clamp) meets most packets, and some inputs become path
// probes sealed with A's keys, so fuzzed pings and pongs get past authentication.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "core/device.hpp"
#include "noise/path_probe_crypto.hpp"

using namespace tern;

namespace {

crypto::Key filled(uint8_t v) {
  crypto::Key k;
  k.fill(v);
  return k;
}

const Endpoint kA = *Endpoint::parse("192.0.2.1:51820");
const Endpoint kB = *Endpoint::parse("192.0.2.2:51820");

struct World {
  core::Device a{filled(0x11)};
  core::Device b{filled(0x22)};
  Instant now = instant_from_ns(10'000'000'000);
  noise::PathProbeKeys a_keys;

  World() {
    a.set_path_mtu_discovery(true, now);
    b.set_path_mtu_discovery(true, now);
    b.set_mtu(600);
    a_keys = *noise::derive_path_probe_keys(noise::LocalIdentity::from_private(filled(0x11)),
                                            b.public_key());
    auto pa = *a.add_peer(b.public_key());
    auto pb = *b.add_peer(a.public_key());
    a.add_allowed_ip(pa, *IpPrefix::parse("10.0.0.2/32"));
    b.add_allowed_ip(pb, *IpPrefix::parse("10.0.0.1/32"));
    b.add_allowed_ip(pb, *IpPrefix::parse("fd00::1/128"));
    a.set_endpoint(pa, kB);
    // Establish a session: A's first packet starts the handshake.
    std::vector<uint8_t> buf(core::kSendHeadroom + 40 + core::kSendTailroom, 0);
    uint8_t* ip = buf.data() + core::kSendHeadroom;
    ip[0] = 0x45;
    ip[3] = 40;
    ip[12] = 10, ip[15] = 1, ip[16] = 10, ip[19] = 2;
    (void)a.send_packet(buf, 40, now);
    for (int round = 0; round < 4; ++round) {
      while (auto t = a.poll_transmit(now)) {
        std::vector<uint8_t> d(t->data.begin(), t->data.end());
        (void)b.receive_datagram(kA, d, now);
      }
      while (auto t = b.poll_transmit(now)) {
        std::vector<uint8_t> d(t->data.begin(), t->data.end());
        (void)a.receive_datagram(kB, d, now);
      }
    }
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static World w;
  if (size == 0) return 0;
  w.now += std::chrono::milliseconds(data[0]);
  std::vector<uint8_t> input(data + 1, data + size);
  if ((data[0] & 5) == 5) {
    // A path probe from A whose body (and size) the input chooses.
    wire::PathProbeBody body;
    std::memcpy(body.tx_id.data(), input.data(), std::min(input.size(), body.tx_id.size()));
    if (input.size() >= 16) {
      body.overlay_mtu = static_cast<uint16_t>(input[12] << 8 | input[13]);
      body.answered_size = static_cast<uint16_t>(input[14] << 8 | input[15]);
    }
    const auto type = (data[0] & 8) ? wire::ProbeType::kPong : wire::ProbeType::kPing;
    std::vector<uint8_t> probe(wire::kPathProbeMinSize + input.size());
    const size_t n = noise::seal_path_probe(w.a_keys, type, body, probe.size(), probe);
    if (n == 0) std::abort();
    auto r = w.b.receive_datagram(kA, probe, w.now);
    if (r.kind == core::ReceiveResult::Kind::kDeliver) std::abort();  // a probe is never data
    while (auto t = w.b.poll_transmit(w.now)) {
      // A pong is never larger than the ping it answers.
      if (wire::is_path_probe(t->data) && t->data.size() > probe.size()) std::abort();
    }
  } else if (data[0] & 1) {
    // Network side: a datagram from A's address or from a stranger.
    const Endpoint from = (data[0] & 2) ? kA : *Endpoint::parse("203.0.113.5:4444");
    auto r = w.b.receive_datagram(from, input, w.now);
    if (r.kind == core::ReceiveResult::Kind::kDeliver &&
        (r.packet.data() < input.data() ||
         r.packet.data() + r.packet.size() > input.data() + input.size())) {
      std::abort();  // a delivered packet must lie inside the datagram
    }
  } else {
    // TUN side: an arbitrary "IP packet" on B's send path.
    std::vector<uint8_t> buf(core::kSendHeadroom + input.size() + core::kSendTailroom);
    std::memcpy(buf.data() + core::kSendHeadroom, input.data(), input.size());
    (void)w.b.send_packet(buf, input.size(), w.now);
  }
  w.b.handle_timeout(w.now);
  while (w.b.poll_transmit(w.now)) {
  }
  while (auto ptb = w.b.poll_tun_write()) {
    if (ptb->size() > wire::kPathProbeMaxSize) std::abort();
  }
  return 0;
}

// Fuzzes the whole device from the network side: arbitrary datagrams reach a
// device that has a peer and an established session, and arbitrary "TUN"
// packets reach its send path. Every input must be dropped and counted or
// handled; nothing may crash, leak or stall (asserted by the drop counters
// adding up).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "core/device.hpp"

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

  World() {
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
  if (data[0] & 1) {
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
  return 0;
}

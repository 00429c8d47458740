// Fuzzes what a hostile STUN server can send `tern doctor nat`: the bytes are cut into
// datagrams that reach the behaviour discovery's and the lifetime search's sockets from the
// server's addresses, with the transaction IDs of their requests patched in so the answers
// get past the first check. Nothing may crash, and both machines must end.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "doctor/nat_discovery.hpp"
#include "doctor/nat_lifetime.hpp"
#include "doctor/stun_probe.hpp"

using namespace tern;
using namespace tern::doctor;

namespace {

template <class M>
void drive(M& m, const uint8_t* data, size_t size, size_t sockets) {
  const Endpoint servers[] = {
      *Endpoint::parse("192.0.2.2:3478"), *Endpoint::parse("192.0.2.3:3479"),
      *Endpoint::parse("192.0.2.3:3478"), *Endpoint::parse("192.0.2.2:3479")};
  Instant now = instant_from_ns(1);
  std::vector<uint8_t> last_request;
  size_t pos = 0;
  for (int turn = 0; turn < 400 && !m.done(); ++turn) {
    while (auto t = m.poll_transmit())
      last_request = t->data;
    if (pos + 2 <= size) {
      const size_t len =
          std::min<size_t>(data[pos] | ((data[pos + 1] & 0x03) << 8), size - pos - 2);
      const uint8_t pick = data[pos + 1] >> 2;
      std::vector<uint8_t> d(data + pos + 2, data + pos + 2 + len);
      pos += 2 + len;
      // Answer the last request's transaction, so the parser behind the ID check is reached.
      if ((pick & 1) && d.size() >= 20 && last_request.size() >= 20) {
        std::memcpy(d.data() + 8, last_request.data() + 8, 12);
      }
      m.handle_input((pick >> 1) % sockets, servers[(pick >> 3) % 4], d, now);
    } else if (auto t = m.poll_timeout()) {
      now = std::max(now, *t);
    } else {
      now += std::chrono::seconds(1);
    }
    m.handle_timeout(now);
  }
  while (!m.done()) {
    while (m.poll_transmit()) {
    }
    auto t = m.poll_timeout();
    if (!t) break;
    now = std::max(now, *t);
    m.handle_timeout(now);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  wire::TransactionId id{};
  if (size >= 20) std::memcpy(id.data(), data + 8, 12);
  (void)read_binding_answer(Bytes(data, size), id);

  NatDiscovery::Config c;
  c.servers = {*Endpoint::parse("192.0.2.2:3478")};
  for (size_t i = 0; i < NatDiscovery::kSockets; ++i) {
    c.local[i] = Endpoint{*IpAddress::parse("10.0.0.2"), static_cast<uint16_t>(5000 + i)};
  }
  NatDiscovery d(c, instant_from_ns(1));
  drive(d, data, size, NatDiscovery::kSockets);
  if (!d.done()) std::abort();

  LifetimeSearch::Config lc;
  lc.server = *Endpoint::parse("192.0.2.2:3478");
  lc.intervals = lifetime_intervals(std::chrono::seconds(6), 3);
  LifetimeSearch l(lc, instant_from_ns(1));
  drive(l, data, size, l.sockets());
  if (!l.done()) std::abort();
  return 0;
}

// Fuzzes the DPLPMTUD state machine with arbitrary sequences of inputs (acks of any size,
// PTBs reporting any MTU, black-hole signals, time jumps, disable/start). Whatever the
// network says, the MTU stays within [base, max], probes are of sizes it may send, events
// describe the changes exactly, and a handled deadline never stays in the past.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <variant>

#include "base/bytes.hpp"
#include "core/pmtud.hpp"

using namespace tern;

namespace {

void require(bool ok) {
  if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  ByteReader r(Bytes(data, size));
  core::PmtudConfig cfg;
  const size_t maxes[] = {1500, 1450, 9000, 1280};
  cfg.max_mtu = maxes[r.u8().value_or(0) % 4];
  cfg.confirm_only_after_data = r.u8().value_or(0) & 1;
  core::Pmtud p(cfg);
  Instant now = instant_from_ns(1'000'000'000);
  size_t mtu = p.current_mtu();
  size_t last_probe = 0;

  auto drain = [&] {
    while (auto probe = p.poll_probe()) {
      require(*probe >= cfg.base_mtu && *probe <= cfg.max_mtu);
      last_probe = *probe;
    }
    while (auto e = p.poll_event()) {
      const auto& c = std::get<core::MtuChanged>(*e);
      require(c.old_mtu == mtu && c.new_mtu != c.old_mtu);
      mtu = c.new_mtu;
    }
    require(mtu == p.current_mtu());
    require(mtu >= cfg.base_mtu && mtu <= cfg.max_mtu);
  };

  p.start(now);
  drain();
  while (auto op = r.u8()) {
    switch (*op % 9) {
      case 0: {  // time passes; the machine is woken when due
        now += std::chrono::milliseconds(r.u8().value_or(0) * 50);
        if (auto t = p.poll_timeout(); t && *t <= now) p.handle_timeout(now);
        if (auto t = p.poll_timeout()) require(*t > now);
        break;
      }
      case 1:
        if (last_probe) p.on_probe_acked(last_probe, now);
        break;
      case 2:
        p.on_probe_acked(r.u16_be().value_or(0), now);
        break;
      case 3:
        p.on_packet_too_big(r.u16_be().value_or(0), now);
        break;
      case 4:  // data of the size in use refused
        (void)p.on_too_big_locally(p.current_mtu(), now);
        break;
      case 5:
        p.on_data_sent();
        break;
      case 6:
        p.disable();
        break;
      case 7:
        p.start(now);
        break;
      case 8:  // this host's kernel refused a packet of that size (EMSGSIZE)
        (void)p.on_too_big_locally(r.u16_be().value_or(0), now);
        break;
    }
    drain();
    if (p.state() == core::PmtudState::kDisabled) require(!p.poll_timeout());
  }
  return 0;
}

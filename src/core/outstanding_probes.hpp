// The pings we sent and still wait a pong for (docs/path-probes.md, "Exchange"). A pong is
// accepted only when its transaction id is here, and only once: taking an entry removes it,
// so a replayed pong, or one for a ping that expired, matches nothing. A fixed table: no
// allocation, and a flood of pings cannot grow it.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>

#include "base/time.hpp"
#include "wire/path_probe.hpp"

namespace tern::core {

class OutstandingProbes {
 public:
  static constexpr size_t kCapacity = 32;

  struct Entry {
    wire::ProbeTxId tx_id{};
    uint64_t tag = 0;       // the caller's: which peer and path the ping went to
    size_t probe_size = 0;  // what the ping tested (a path MTU for the PMTU search)
    Instant sent{};
    Instant expires{};
  };

  // Remembers a ping. When the table is full, the entry that expires first makes room.
  void add(const Entry& entry);
  // The entry for a pong's transaction id, removed; nullopt when none is there or it expired.
  [[nodiscard]] std::optional<Entry> take(const wire::ProbeTxId& tx_id, Instant now);
  // Forgets every entry expired at `now`.
  void expire(Instant now);
  // Forgets every entry with this tag (the peer or path is gone).
  void remove_tag(uint64_t tag);

  size_t size() const;
  // The earliest expiry, for the caller's timer.
  std::optional<Instant> next_expiry() const;

 private:
  std::array<std::optional<Entry>, kCapacity> entries_{};
};

}  // namespace tern::core

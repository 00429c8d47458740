// Round-trip figures of a relayed echo test: RTT min/avg/max, jitter and loss. Pure
// arithmetic over the samples, so the report's numbers are unit-tested.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "base/time.hpp"

namespace tern::doctor {

struct RttStats {
  uint64_t sent = 0;
  uint64_t received = 0;  // each probe counted once, duplicates ignored
  Duration min{};
  Duration avg{};
  Duration max{};
  // RFC 3550 §6.4.1's idea without its smoothing: the mean absolute difference between
  // consecutive RTTs, in the order the probes were sent.
  Duration jitter{};

  uint64_t lost() const { return sent - received; }
  double loss_percent() const;
};

// `rtts[i]` is probe i's round-trip time, nullopt when its echo never came.
[[nodiscard]] RttStats compute_rtt_stats(const std::vector<std::optional<Duration>>& rtts);

}  // namespace tern::doctor

// How long an agent waits before it tries its control server again: exponential from 1 s to
// 60 s, each wait drawn uniformly from its upper half (jitter), so agents that lost the same
// server do not all come back in the same second. A stream that delivered a map resets it.
#pragma once

#include <algorithm>
#include <cstdint>

#include "base/time.hpp"

namespace tern::control {

class Backoff {
 public:
  static constexpr Duration kFirst = std::chrono::seconds(1);
  static constexpr Duration kMax = std::chrono::seconds(60);

  // The next wait; `random` is any uniformly random 32-bit number.
  Duration next(uint32_t random) {
    const Duration ceiling = current_;
    current_ = std::min(current_ * 2, kMax);
    const Duration half = ceiling / 2;
    const double share = static_cast<double>(random) / 4294967295.0;
    return half + Duration(static_cast<int64_t>(static_cast<double>(half.count()) * share));
  }
  void reset() { current_ = kFirst; }

 private:
  Duration current_ = kFirst;
};

}  // namespace tern::control

// Time types for sans-I/O code. Nothing below io/ reads a clock: the event loop
// reads CLOCK_MONOTONIC once per iteration and passes `now` down; tests pass a
// fake one. Wall time (needed only for TAI64N timestamps) is passed the same way.
#pragma once

#include <chrono>
#include <cstdint>

namespace tern {

// A clock with no now(): only its time_point type is used.
struct MonotonicClock {
  using duration = std::chrono::nanoseconds;
  using rep = duration::rep;
  using period = duration::period;
  using time_point = std::chrono::time_point<MonotonicClock, duration>;
  static constexpr bool is_steady = true;
};

using Duration = std::chrono::nanoseconds;
using Instant = MonotonicClock::time_point;

// Nanoseconds since the Unix epoch (CLOCK_REALTIME).
struct WallTime {
  int64_t unix_ns = 0;
};

inline constexpr Instant instant_from_ns(int64_t ns) {
  return Instant(Duration(ns));
}

inline constexpr int64_t to_ns(Instant t) {
  return t.time_since_epoch().count();
}

using namespace std::chrono_literals;

}  // namespace tern

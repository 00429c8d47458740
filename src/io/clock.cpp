#include "io/clock.hpp"

#include <time.h>

namespace tern::io {

namespace {

int64_t read_ns(clockid_t id) {
  timespec ts{};
  // clock_gettime cannot fail for these two clocks with a valid pointer.
  ::clock_gettime(id, &ts);
  return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

}  // namespace

Instant monotonic_now() {
  return instant_from_ns(read_ns(CLOCK_MONOTONIC));
}

WallTime wall_now() {
  return WallTime{read_ns(CLOCK_REALTIME)};
}

}  // namespace tern::io

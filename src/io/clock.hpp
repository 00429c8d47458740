// The clocks. io/ is the only module that reads the time: the event loop reads
// monotonic_now() once per iteration and passes it down to the sans-I/O cores.
#pragma once

#include "base/time.hpp"

namespace tern::io {

// CLOCK_MONOTONIC: for timers, RTTs and every deadline.
Instant monotonic_now();
// CLOCK_REALTIME: only for TAI64N handshake timestamps and human-readable output.
WallTime wall_now();

}  // namespace tern::io

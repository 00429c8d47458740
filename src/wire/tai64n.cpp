#include "wire/tai64n.hpp"

namespace tern::wire {

Tai64n tai64n_from_wall(WallTime t) {
  constexpr int64_t kNsPerSec = 1'000'000'000;
  // Floor division, so times before 1970 still order correctly.
  int64_t secs = t.unix_ns / kNsPerSec;
  int64_t nanos = t.unix_ns % kNsPerSec;
  if (nanos < 0) {
    nanos += kNsPerSec;
    --secs;
  }
  const uint64_t label = kTai64Base + static_cast<uint64_t>(secs);
  const uint32_t n = static_cast<uint32_t>(nanos) & kTai64nNanosMask;

  Tai64n out;
  for (size_t i = 0; i < 8; ++i)
    out.bytes[i] = static_cast<uint8_t>(label >> (56 - 8 * i));
  for (size_t i = 0; i < 4; ++i)
    out.bytes[8 + i] = static_cast<uint8_t>(n >> (24 - 8 * i));
  return out;
}

}  // namespace tern::wire

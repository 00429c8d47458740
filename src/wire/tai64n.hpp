// TAI64N timestamps (https://cr.yp.to/libtai/tai64.html) as carried, encrypted, in a
// WireGuard handshake initiation: a responder accepts an initiation only if its
// timestamp is newer than the last one from that peer, which defeats replays.
#pragma once

#include <array>
#include <compare>
#include <cstdint>

#include "base/time.hpp"

namespace tern::wire {

inline constexpr size_t kTai64nSize = 12;

// 8-byte big-endian seconds (2^62 + 10 + Unix seconds) then 4-byte big-endian
// nanoseconds. Bytewise comparison is time order.
struct Tai64n {
  std::array<uint8_t, kTai64nSize> bytes{};

  auto operator<=>(const Tai64n&) const = default;
};

// The 2^62 label plus the 10 s TAI-UTC offset of 1970, as the kernel and wireguard-go use.
inline constexpr uint64_t kTai64Base = (uint64_t{1} << 62) + 10;
// Nanoseconds are rounded down to a multiple of 2^24 ns (~16.8 ms, below the 50
// initiations/s limit) so the timestamp does not leak a precise clock (kernel, wireguard-go).
inline constexpr uint32_t kTai64nNanosMask = ~((uint32_t{1} << 24) - 1);

[[nodiscard]] Tai64n tai64n_from_wall(WallTime t);

}  // namespace tern::wire

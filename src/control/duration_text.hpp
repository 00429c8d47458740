// Long durations on the command line: "90s", "15m", "24h", "30d" or bare seconds, for
// key expiry, credential lifetimes and peer expiry (seconds to years, not milliseconds).
#pragma once

#include <cstdint>
#include <string_view>

#include "base/decimal.hpp"
#include "base/result.hpp"

namespace tern::control {

inline constexpr int64_t kMaxDurationSeconds = int64_t{10} * 366 * 24 * 3600;

[[nodiscard]] inline Result<int64_t> parse_duration_seconds(std::string_view text) {
  int64_t unit = 1;
  if (!text.empty()) {
    switch (text.back()) {
      case 's':
        unit = 1;
        break;
      case 'm':
        unit = 60;
        break;
      case 'h':
        unit = 3600;
        break;
      case 'd':
        unit = 24 * 3600;
        break;
      default:
        unit = 0;
    }
    if (unit != 0) text.remove_suffix(1);
  }
  if (unit == 0) unit = 1;
  const auto n = parse_decimal(text, static_cast<uint64_t>(kMaxDurationSeconds));
  if (!n || *n == 0 || static_cast<int64_t>(*n) * unit > kMaxDurationSeconds) {
    return fail(
        "a duration is a positive number with s, m, h or d (e.g. 90s, 15m, 24h, 30d), "
        "up to ten years");
  }
  return static_cast<int64_t>(*n) * unit;
}

}  // namespace tern::control

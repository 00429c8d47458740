// Strict decimal parsing for text protocols and config files: digits only (no
// sign, spaces or hex), as wireguard-go's strconv.ParseUint(s, 10, n) and wg-quick read numbers.
#pragma once

#include <charconv>
#include <cstdint>
#include <optional>
#include <string_view>

namespace tern {

// nullopt for anything but 1-20 decimal digits, or a value above `max`.
inline std::optional<uint64_t> parse_decimal(std::string_view text, uint64_t max) {
  if (text.empty() || text.size() > 20) return std::nullopt;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
  }
  uint64_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || v > max) return std::nullopt;
  return v;
}

}  // namespace tern

// coturn's turnserver.conf as `tern doctor relay --coturn-config` reads it: one option a line,
// "name=value", "name value" or a bare flag "name" (a leading "--" allowed), "#" to the end of
// the line a comment, values optionally in double quotes. The text is the operator's file, so
// the parser is bounded and fuzzed (tests/fuzz/doctor_coturn_config_fuzz.cpp).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/ip.hpp"
#include "base/result.hpp"

namespace tern::doctor {

struct CoturnOption {
  std::string name;   // lower case, without "--"
  std::string value;  // empty for a flag
  size_t line = 0;    // 1-based
};

struct CoturnConfig {
  std::vector<CoturnOption> options;

  bool has(std::string_view name) const;
  // The last value given (coturn keeps the last for single-valued options).
  std::optional<std::string> value(std::string_view name) const;
  std::vector<std::string> values(std::string_view name) const;
};

inline constexpr size_t kCoturnConfigMaxBytes = 1 << 20;
inline constexpr size_t kCoturnConfigMaxOptions = 10'000;

// Fails on text over kCoturnConfigMaxBytes, a NUL byte, or more than kCoturnConfigMaxOptions.
[[nodiscard]] Result<CoturnConfig> parse_coturn_config(std::string_view text);

// An address range of coturn's denied-peer-ip/allowed-peer-ip: "A-B", "A" or "A/LEN".
struct AddressRange {
  IpAddress first;
  IpAddress last;

  bool contains(const IpAddress& a) const;
  std::string to_string() const;
};
[[nodiscard]] std::optional<AddressRange> parse_address_range(std::string_view text);

}  // namespace tern::doctor

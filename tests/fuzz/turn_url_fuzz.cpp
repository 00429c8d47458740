// parse_turn_url on any text: no crash, and a URL it accepts prints a canonical form that
// parses back to the same thing.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "doctor/turn_url.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto url = tern::doctor::parse_turn_url(text);
  if (!url) return 0;
  const auto canonical = url->to_string();
  auto again = tern::doctor::parse_turn_url(canonical);
  if (!again || again->to_string() != canonical || again->transport != url->transport) {
    std::abort();
  }
  return 0;
}

// The values of the routing keys: Table (wg-quick's) and FwMark (wg's).
#include <charconv>
#include <cstdint>
#include <optional>

#include "config/values.hpp"

namespace tern::config::detail {
namespace {

// Decimal digits, or 0x and hex digits (0x lower case only, as `wg` reads marks); no sign or
// spaces. nullopt for anything else or a value above 32 bits.
std::optional<uint32_t> parse_u32(std::string_view text) {
  int base = 10;
  if (text.size() > 2 && text[0] == '0' && text[1] == 'x') {
    text.remove_prefix(2);
    base = 16;
  }
  if (text.empty() || text.front() == '+' || text.front() == '-') return std::nullopt;
  uint32_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v, base);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return v;
}

}  // namespace

Result<RouteTable> parse_table(std::string_view value) {
  if (iequals(value, "auto")) return RouteTable{};
  if (iequals(value, "off")) return RouteTable{RouteTable::Mode::kOff, 0};
  // The names iproute2 knows without /etc/iproute2/rt_tables.
  constexpr std::pair<std::string_view, uint32_t> kNames[] = {
      {"main", 254}, {"default", 253}, {"local", 255}};
  for (auto [name, id] : kNames) {
    if (iequals(value, name)) return RouteTable{RouteTable::Mode::kFixed, id};
  }
  auto id = parse_u32(value);
  if (!id || *id == 0) {
    return fail("Table '" + std::string(value) +
                "' is not a routing table; write Table = auto (the default: the main table, "
                "and policy routing for 0.0.0.0/0 and ::/0), off (no routes), main, or a "
                "table number 1-4294967295");
  }
  return RouteTable{RouteTable::Mode::kFixed, *id};
}

Result<uint32_t> parse_fwmark(std::string_view value) {
  if (iequals(value, "off")) return uint32_t{0};
  auto mark = parse_u32(value);
  if (!mark) {
    return fail("FwMark '" + std::string(value) +
                "' is neither off nor a 32-bit number; write e.g. FwMark = 51820 or "
                "FwMark = 0xca6c");
  }
  return *mark;
}

}  // namespace tern::config::detail

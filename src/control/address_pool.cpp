#include "control/address_pool.hpp"

#include <array>

namespace tern::control {

Result<IpPrefix> parse_v4_pool(std::string_view text) {
  auto p = IpPrefix::parse(text);
  if (!p || !p->address.is_v4())
    return fail("the address pool must be an IPv4 prefix like 100.64.0.0/10");
  if (p->length < 8 || p->length > 30) return fail("the address pool must be between /8 and /30");
  if (p->masked() != *p)
    return fail("the address pool has host bits set (try " + p->masked().to_string() + ")");
  return *p;
}

IpPrefix ula48(std::span<const uint8_t, 5> global_id) {
  std::array<uint8_t, 16> b{};
  b[0] = 0xfd;
  for (size_t i = 0; i < 5; ++i)
    b[1 + i] = global_id[i];
  return IpPrefix{IpAddress::v6(b), 48};
}

uint32_t pool_capacity(const IpPrefix& v4) {
  const unsigned host_bits = 32u - v4.length;
  return static_cast<uint32_t>((uint64_t{1} << host_bits) - 2);
}

IpAddress v4_at(const IpPrefix& v4, uint32_t n) {
  return IpAddress::v4(v4.masked().address.v4_host_order() + n);
}

IpAddress v6_at(const IpPrefix& v6, uint32_t n) {
  std::array<uint8_t, 16> b{};
  const IpAddress base = v6.masked().address;
  for (size_t i = 0; i < 16; ++i)
    b[i] = base.data()[i];
  b[12] = static_cast<uint8_t>(n >> 24);
  b[13] = static_cast<uint8_t>(n >> 16);
  b[14] = static_cast<uint8_t>(n >> 8);
  b[15] = static_cast<uint8_t>(n);
  return IpAddress::v6(b);
}

std::optional<uint32_t> next_number(std::span<const uint32_t> taken_sorted, uint32_t capacity) {
  if (capacity == 0) return std::nullopt;
  if (taken_sorted.empty()) return 1;
  if (taken_sorted.back() < capacity) return taken_sorted.back() + 1;
  uint32_t want = 1;
  for (uint32_t n : taken_sorted) {
    if (n > want) return want;
    if (n == want) ++want;
  }
  return want <= capacity ? std::optional<uint32_t>(want) : std::nullopt;
}

}  // namespace tern::control

#include "core/allowed_ips.hpp"

#include <array>

namespace tern::core::detail {

IpPrefix prefix_from_key(const TrieKey& key, uint8_t cidr, bool v4) {
  if (v4) return IpPrefix{IpAddress::v4(static_cast<uint32_t>(key.hi >> 32)), cidr};
  std::array<uint8_t, 16> b{};
  for (int i = 0; i < 8; ++i) {
    b[i] = static_cast<uint8_t>(key.hi >> (56 - 8 * i));
    b[8 + i] = static_cast<uint8_t>(key.lo >> (56 - 8 * i));
  }
  return IpPrefix{IpAddress::v6(b), cidr};
}

}  // namespace tern::core::detail

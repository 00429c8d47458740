// 32-byte keys: Curve25519 private and public keys, preshared and symmetric keys.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

namespace tern::crypto {

inline constexpr size_t kKeySize = 32;
using Key = std::array<uint8_t, kKeySize>;

}  // namespace tern::crypto

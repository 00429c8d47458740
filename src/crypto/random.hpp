// Cryptographically secure randomness (libsodium randombytes): ephemeral keys,
// cookie secrets and nonces, session indices.
#pragma once

#include <cstdint>

#include "base/bytes.hpp"

namespace tern::crypto {

void random_bytes(MutableBytes out);
uint32_t random_u32();
// Uniform in [0, upper_bound); 0 when upper_bound is 0.
uint32_t random_uniform(uint32_t upper_bound);

}  // namespace tern::crypto

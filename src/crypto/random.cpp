#include "crypto/random.hpp"

#include <sodium.h>

#include "crypto/sodium.hpp"

namespace tern::crypto {

void random_bytes(MutableBytes out) {
  if (out.empty()) return;  // data() may be null, which libsodium declares nonnull
  ensure_sodium();
  randombytes_buf(out.data(), out.size());
}

uint32_t random_u32() {
  ensure_sodium();
  return randombytes_random();
}

uint32_t random_uniform(uint32_t upper_bound) {
  if (upper_bound == 0) return 0;
  ensure_sodium();
  return randombytes_uniform(upper_bound);
}

}  // namespace tern::crypto

#include "crypto/memory.hpp"

#include <sodium.h>

namespace tern::crypto {

void secure_wipe(void* data, size_t size) {
  sodium_memzero(data, size);
}

bool equal_ct(Bytes a, Bytes b) {
  if (a.size() != b.size()) return false;
  if (a.empty()) return true;
  return sodium_memcmp(a.data(), b.data(), a.size()) == 0;
}

bool is_zero_ct(Bytes data) {
  return sodium_is_zero(data.data(), data.size()) == 1;
}

}  // namespace tern::crypto

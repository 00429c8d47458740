// Secret hygiene: wiping key material and comparing secrets in constant time
// (libsodium's sodium_memzero / sodium_memcmp, which the compiler cannot optimise away).
#pragma once

#include <cstddef>
#include <type_traits>

#include "base/bytes.hpp"

namespace tern::crypto {

void secure_wipe(void* data, size_t size);

template <class T>
requires std::is_trivially_copyable_v<T>
void secure_wipe(T& object) {
  secure_wipe(&object, sizeof(T));
}

// Constant time in the contents; false when the sizes differ.
[[nodiscard]] bool equal_ct(Bytes a, Bytes b);
// Constant time: true when every byte is zero.
[[nodiscard]] bool is_zero_ct(Bytes data);

}  // namespace tern::crypto

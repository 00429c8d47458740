#include "crypto/sodium.hpp"

#include <sodium.h>

namespace tern::crypto {

bool ensure_sodium() {
  // C++ guarantees a function-local static is initialised exactly once, even when
  // several threads arrive together; sodium_init() is itself idempotent.
  static const bool ready = sodium_init() >= 0;
  return ready;
}

}  // namespace tern::crypto

// libsodium needs sodium_init() once before use. Every wrapper in crypto/ calls
// ensure_sodium(); it initialises on first use (thread-safe) and is a cheap load after.
#pragma once

namespace tern::crypto {

// True when libsodium is ready; false only if sodium_init() failed (no entropy source).
bool ensure_sodium();

}  // namespace tern::crypto

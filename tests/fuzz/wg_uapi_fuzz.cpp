// Fuzzes the UAPI get=1 reply parser that `tern doctor wg` runs on what a userspace
// WireGuard (wireguard-go, NetBird, tern) answers. Nothing may crash; a parsed device's
// peers must each have come from a public_key line.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "doctor/wg_uapi.hpp"

using namespace tern;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto d = doctor::parse_uapi_get(text);
  if (d && d->peers.size() > size / 75 + 1) std::abort();  // "public_key=" + 64 hex + '\n'
  return 0;
}

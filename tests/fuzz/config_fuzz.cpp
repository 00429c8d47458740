// Fuzzes the wg-quick config parser with arbitrary text: it must never crash,
// and whatever it accepts must hold together (a private key, peers with keys,
// in-range values, masked allowed IPs).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "config/config.hpp"

using namespace tern;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto cfg = config::parse_config(text, "fuzz.conf");
  if (!cfg) {
    if (cfg.error().message.rfind("fuzz.conf:", 0) != 0) std::abort();  // always file:line
    return 0;
  }
  if (cfg->mtu && (*cfg->mtu < config::kMinMtu || *cfg->mtu > config::kMaxMtu)) std::abort();
  for (const auto& peer : cfg->peers) {
    if (peer.line < 1) std::abort();
    for (const auto& p : peer.allowed_ips) {
      if (p.masked() != p) std::abort();
    }
  }
  return 0;
}

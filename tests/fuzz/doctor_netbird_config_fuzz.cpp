// parse_netbird_config and the plan on any text: no crash; every check planned has a URL that
// prints and parses back, and credentials or a secret when it is a TURN URL.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "doctor/netbird_config.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace tern::doctor;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto config = parse_netbird_config(text);
  if (!config) return 0;
  if (config->stuns.size() > kNetbirdMaxHosts || config->turns.size() > kNetbirdMaxHosts) {
    std::abort();
  }
  const auto plan = plan_netbird_checks(*config);
  for (const auto& t : plan.targets) {
    if (!parse_turn_url(t.url.to_string())) std::abort();
    if (t.url.is_turn() && !t.credentials && !t.secret) std::abort();
  }
  for (const auto& f : plan.findings) {
    if (f.code.empty() || f.message.empty()) std::abort();
  }
  (void)parse_go_duration(text.substr(0, 40));
  return 0;
}

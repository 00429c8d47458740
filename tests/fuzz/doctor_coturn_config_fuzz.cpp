// parse_coturn_config and the lint on any text: no crash, every option has a name, a line
// within the text, and the lint's findings each carry a code and a message.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "doctor/coturn_config.hpp"
#include "doctor/coturn_config_lint.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace tern::doctor;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto config = parse_coturn_config(text);
  if (!config) return 0;
  size_t lines = 1;
  for (char c : text)
    lines += c == '\n';
  for (const auto& o : config->options) {
    if (o.name.empty() || o.line == 0 || o.line > lines) std::abort();
  }
  CoturnLintInput in;
  in.secret = "fuzz";
  in.peers = {*tern::IpAddress::parse("10.0.0.1"), *tern::IpAddress::parse("fd00::1")};
  in.firewall = std::vector<FirewallDrop>{{49152, 50000, "rule"}};
  in.certificate = CertificateFile{"cert.pem", "", 0, 1'800'000'000};
  in.now_unix = 1'700'000'000;
  for (const auto& f : lint_coturn_config(*config, in)) {
    if (f.code.empty() || f.message.empty()) std::abort();
  }
  for (const auto& o : config->options) {
    if (auto r = parse_address_range(o.value); r && !r->contains(r->first)) std::abort();
  }
  return 0;
}

#include "doctor/coturn_config_read.hpp"

#include <openssl/pem.h>
#include <openssl/x509.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

#include <fmt/format.h>

#include "doctor/routes_nft.hpp"
#include "io/run_command.hpp"
#include "io/tls_certificate.hpp"

namespace tern::doctor {

Result<std::string> read_text_file(const std::string& path, size_t max_bytes) {
  std::unique_ptr<FILE, int (*)(FILE*)> f(std::fopen(path.c_str(), "rb"), &std::fclose);
  if (!f) return fail(fmt::format("cannot read {}: {}", path, std::strerror(errno)));
  std::string text;
  char buf[16384];
  while (true) {
    const size_t n = std::fread(buf, 1, sizeof buf, f.get());
    text.append(buf, n);
    if (text.size() > max_bytes) {
      return fail(fmt::format("{} is larger than {} bytes", path, max_bytes));
    }
    if (n < sizeof buf) break;
  }
  if (std::ferror(f.get())) return fail(fmt::format("cannot read {}", path));
  return text;
}

std::optional<std::vector<FirewallDrop>> read_firewall_drops(uint16_t first, uint16_t last,
                                                             std::string& note) {
  constexpr size_t kMaxRuleset = 64 * 1024 * 1024;
  auto r = io::run_command({"nft", "-j", "list", "ruleset"}, std::chrono::seconds(5), kMaxRuleset);
  if (!r) {
    note = "relay ports not compared with the firewall: " + r.error().message;
    return std::nullopt;
  }
  if (r->not_found || r->exit_status != 0) {
    note = r->not_found ? "relay ports not compared with the firewall: nft is not installed"
                        : "relay ports not compared with the firewall: reading the nftables "
                          "ruleset needs root (run the doctor on the relay as root)";
    return std::nullopt;
  }
  auto rules = parse_nft_port_rules(r->out);
  if (!rules) {
    note = "relay ports not compared with the firewall: " + rules.error().message;
    return std::nullopt;
  }
  return firewall_drops_in_range(*rules, first, last);
}

CertificateFile read_certificate_file(const std::string& path) {
  CertificateFile c;
  c.path = path;
  std::unique_ptr<FILE, int (*)(FILE*)> f(std::fopen(path.c_str(), "rb"), &std::fclose);
  if (!f) {
    c.error = fmt::format("cannot read it: {}", std::strerror(errno));
    return c;
  }
  X509* cert = PEM_read_X509(f.get(), nullptr, nullptr, nullptr);
  if (!cert) {
    c.error = "no PEM certificate in it";
    return c;
  }
  const auto facts = io::certificate_facts(cert, 0, "");
  X509_free(cert);
  c.not_before_unix = facts.not_before.unix_ns / 1'000'000'000;
  c.not_after_unix = facts.not_after.unix_ns / 1'000'000'000;
  return c;
}

}  // namespace tern::doctor

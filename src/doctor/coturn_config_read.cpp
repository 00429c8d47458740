#include "doctor/coturn_config_read.hpp"

#include <openssl/pem.h>
#include <openssl/x509.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

#include <fmt/format.h>

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

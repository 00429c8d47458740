#include "control/self_signed.hpp"

#include <fcntl.h>
#include <openssl/bio.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include <cstdio>
#include <memory>

#include "base/ip.hpp"

namespace tern::control {
namespace {

constexpr long kValiditySeconds = 365L * 24 * 3600;

struct FreeKey {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct FreeCert {
  void operator()(X509* c) const { X509_free(c); }
};
struct CloseFile {
  void operator()(FILE* f) const { std::fclose(f); }
};

tl::unexpected<Error> ssl_fail(const std::string& what) {
  char text[256] = "unknown error";
  if (unsigned long e = ERR_get_error()) ERR_error_string_n(e, text, sizeof text);
  ERR_clear_error();
  return fail("cannot make the self-signed certificate: " + what + ": " + text);
}

bool exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

// Opens for writing with `mode` from the start, so a private key is never readable by others.
std::unique_ptr<FILE, CloseFile> create_file(const std::string& path, mode_t mode) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) return nullptr;
  return std::unique_ptr<FILE, CloseFile>(::fdopen(fd, "w"));
}

bool add_ext(X509* cert, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, cert, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  if (!ext) return false;
  const int ok = X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
  return ok == 1;
}

}  // namespace

Result<SelfSignedFiles> ensure_self_signed(const std::string& dir,
                                           const std::vector<std::string>& names) {
  SelfSignedFiles files{dir + "/ca.pem", dir + "/server.key", false};
  if (exists(files.cert) && exists(files.key)) return files;

  std::unique_ptr<EVP_PKEY, FreeKey> key(EVP_EC_gen("P-256"));
  if (!key) return ssl_fail("key generation");
  std::unique_ptr<X509, FreeCert> cert(X509_new());
  if (!cert) return ssl_fail("X509_new");
  X509_set_version(cert.get(), X509_VERSION_3);
  // A random 64-bit serial: two trial servers never issue the same one.
  ASN1_INTEGER* serial = X509_get_serialNumber(cert.get());
  BIGNUM* bn = BN_new();
  if (!bn || BN_rand(bn, 64, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) != 1 ||
      !BN_to_ASN1_INTEGER(bn, serial)) {
    BN_free(bn);
    return ssl_fail("serial number");
  }
  BN_free(bn);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);  // tolerate a slow clock
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), kValiditySeconds);
  X509_set_pubkey(cert.get(), key.get());
  X509_NAME* subject = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(subject, "O", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("tern control (development)"),
                             -1, -1, 0);
  X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("tern control"), -1, -1, 0);
  X509_set_issuer_name(cert.get(), subject);

  std::string san;
  for (const auto& n : names) {
    if (!san.empty()) san += ',';
    san += (IpAddress::parse(n) ? "IP:" : "DNS:") + n;
  }
  if (san.empty()) san = "DNS:localhost";
  if (!add_ext(cert.get(), NID_subject_alt_name, san) ||
      !add_ext(cert.get(), NID_basic_constraints, "critical,CA:TRUE") ||
      !add_ext(cert.get(), NID_key_usage, "critical,digitalSignature,keyCertSign") ||
      !add_ext(cert.get(), NID_ext_key_usage, "serverAuth") ||
      !add_ext(cert.get(), NID_subject_key_identifier, "hash")) {
    return ssl_fail("extensions");
  }
  if (X509_sign(cert.get(), key.get(), EVP_sha256()) == 0) return ssl_fail("signing");

  auto key_file = create_file(files.key, 0600);
  if (!key_file) return fail("cannot write " + files.key);
  if (PEM_write_PrivateKey(key_file.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    return ssl_fail("writing " + files.key);
  }
  auto cert_file = create_file(files.cert, 0644);
  if (!cert_file) return fail("cannot write " + files.cert);
  if (PEM_write_X509(cert_file.get(), cert.get()) != 1) return ssl_fail("writing " + files.cert);
  files.created = true;
  return files;
}

}  // namespace tern::control

// Certificates made in the test with OpenSSL's API: a CA and leaves it signs, with chosen
// names and validity, written as PEM files in a fresh temporary directory.
#pragma once

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cstdio>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>

namespace tern::io::testing {

struct PkeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct X509Free {
  void operator()(X509* c) const { X509_free(c); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;
using Cert = std::unique_ptr<X509, X509Free>;

struct KeyAndCert {
  Pkey key;
  Cert cert;
};

inline void check(bool ok, const char* what) {
  if (!ok) throw std::runtime_error(what);
}

inline void add_ext(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  check(ext != nullptr, "extension");
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
}

// `alt_names` in OpenSSL config syntax ("DNS:a.example, IP:127.0.0.1"); empty for none.
// Valid from now + from_s to now + to_s. Self-signed when `issuer` is null.
inline KeyAndCert make_cert(const std::string& cn, const std::string& alt_names, long from_s,
                            long to_s, const KeyAndCert* issuer, bool is_ca) {
  static long serial = 1;
  KeyAndCert out;
  out.key.reset(EVP_EC_gen("P-256"));
  check(out.key != nullptr, "keygen");
  out.cert.reset(X509_new());
  X509* c = out.cert.get();
  X509_set_version(c, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(c), serial++);
  X509_gmtime_adj(X509_getm_notBefore(c), from_s);
  X509_gmtime_adj(X509_getm_notAfter(c), to_s);
  X509_NAME* name = X509_get_subject_name(c);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  X509_set_pubkey(c, out.key.get());
  X509* issuer_cert = issuer != nullptr ? issuer->cert.get() : c;
  X509_set_issuer_name(c, X509_get_subject_name(issuer_cert));
  add_ext(c, issuer_cert, NID_basic_constraints, is_ca ? "critical,CA:TRUE" : "CA:FALSE");
  if (is_ca) add_ext(c, issuer_cert, NID_key_usage, "critical,keyCertSign,cRLSign");
  if (!alt_names.empty()) add_ext(c, issuer_cert, NID_subject_alt_name, alt_names.c_str());
  EVP_PKEY* signer = issuer != nullptr ? issuer->key.get() : out.key.get();
  check(X509_sign(c, signer, EVP_sha256()) > 0, "sign");
  return out;
}

// A temporary directory, removed with everything in it.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "tern-tls-XXXXXX").string();
    check(mkdtemp(tmpl.data()) != nullptr, "mkdtemp");
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

inline void write_cert(const std::string& path, X509* cert) {
  FILE* f = std::fopen(path.c_str(), "w");
  check(f != nullptr, "open");
  PEM_write_X509(f, cert);
  std::fclose(f);
}

inline void write_key(const std::string& path, EVP_PKEY* key) {
  FILE* f = std::fopen(path.c_str(), "w");
  check(f != nullptr, "open");
  PEM_write_PrivateKey(f, key, nullptr, nullptr, 0, nullptr, nullptr);
  std::fclose(f);
}

}  // namespace tern::io::testing

#include "crypto/digest.hpp"

#include <openssl/evp.h>

#include <cstdio>
#include <cstdlib>
#include <memory>

namespace tern::crypto {
namespace {

[[noreturn]] void die(const char* what) {
  std::fprintf(stderr, "tern: OpenSSL digest failure: %s\n", what);
  std::abort();
}

void check(int rc, const char* what) {
  if (rc != 1) die(what);
}

const EVP_MD* fetch(const char* name) {
  EVP_MD* md = EVP_MD_fetch(nullptr, name, nullptr);
  if (!md) die(name);
  return md;
}

struct MdCtxFree {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};

EVP_MD_CTX* ctx() {
  thread_local std::unique_ptr<EVP_MD_CTX, MdCtxFree> c(EVP_MD_CTX_new());
  if (!c) die("EVP_MD_CTX_new");
  return c.get();
}

template <size_t N>
std::array<uint8_t, N> run(const EVP_MD* md, std::initializer_list<Bytes> parts) {
  EVP_MD_CTX* c = ctx();
  check(EVP_DigestInit_ex2(c, md, nullptr), "digest init");
  for (Bytes p : parts) {
    if (!p.empty()) check(EVP_DigestUpdate(c, p.data(), p.size()), "digest update");
  }
  std::array<uint8_t, N> out;
  unsigned int len = 0;
  check(EVP_DigestFinal_ex(c, out.data(), &len), "digest final");
  if (len != N) die("digest length");
  return out;
}

}  // namespace

Md5Digest md5(std::initializer_list<Bytes> parts) {
  static const EVP_MD* md = fetch("MD5");
  return run<kMd5Size>(md, parts);
}

Sha256Digest sha256(std::initializer_list<Bytes> parts) {
  static const EVP_MD* md = fetch("SHA256");
  return run<kSha256Size>(md, parts);
}

}  // namespace tern::crypto

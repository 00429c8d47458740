#include "crypto/hmac_sha.hpp"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include <cstdio>
#include <cstdlib>
#include <memory>

namespace tern::crypto {
namespace {

// OpenSSL without HMAC-SHA1/SHA256 is a broken installation, not a runtime condition.
[[noreturn]] void die(const char* what) {
  std::fprintf(stderr, "tern: OpenSSL HMAC failure: %s\n", what);
  std::abort();
}

void check(int rc, const char* what) {
  if (rc != 1) die(what);
}

struct MacCtxFree {
  void operator()(EVP_MAC_CTX* c) const { EVP_MAC_CTX_free(c); }
};
using MacCtx = std::unique_ptr<EVP_MAC_CTX, MacCtxFree>;

EVP_MAC* hmac() {
  static EVP_MAC* mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  if (!mac) die("fetch HMAC");
  return mac;
}

MacCtx new_ctx(const char* digest_name) {
  MacCtx c(EVP_MAC_CTX_new(hmac()));
  if (!c) die("EVP_MAC_CTX_new");
  // OSSL_PARAM wants a mutable string; the name is copied by set_params.
  char name[16] = {};
  std::snprintf(name, sizeof name, "%s", digest_name);
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, name, 0),
      OSSL_PARAM_construct_end(),
  };
  check(EVP_MAC_CTX_set_params(c.get(), params), digest_name);
  return c;
}

template <size_t N>
std::array<uint8_t, N> run(EVP_MAC_CTX* ctx, Bytes key, std::initializer_list<Bytes> parts) {
  // HMAC accepts an empty key; OpenSSL wants a non-null pointer to mean "new key".
  static const uint8_t kEmpty = 0;
  check(EVP_MAC_init(ctx, key.empty() ? &kEmpty : key.data(), key.size(), nullptr), "HMAC init");
  for (Bytes p : parts) {
    if (!p.empty()) check(EVP_MAC_update(ctx, p.data(), p.size()), "HMAC update");
  }
  std::array<uint8_t, N> out;
  size_t len = 0;
  check(EVP_MAC_final(ctx, out.data(), &len, out.size()), "HMAC final");
  if (len != N) die("HMAC length");
  return out;
}

}  // namespace

Sha1Digest hmac_sha1(Bytes key, std::initializer_list<Bytes> parts) {
  thread_local MacCtx ctx = new_ctx("SHA1");
  return run<kSha1Size>(ctx.get(), key, parts);
}

Sha256Digest hmac_sha256(Bytes key, std::initializer_list<Bytes> parts) {
  thread_local MacCtx ctx = new_ctx("SHA256");
  return run<kSha256Size>(ctx.get(), key, parts);
}

}  // namespace tern::crypto

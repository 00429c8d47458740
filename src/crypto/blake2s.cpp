#include "crypto/blake2s.hpp"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include <cstdio>
#include <cstdlib>
#include <memory>

#include "crypto/memory.hpp"

namespace tern::crypto {
namespace {

// OpenSSL without BLAKE2s is a broken installation, not a runtime condition.
[[noreturn]] void die(const char* what) {
  std::fprintf(stderr, "tern: OpenSSL BLAKE2s failure: %s\n", what);
  std::abort();
}

void check(int rc, const char* what) {
  if (rc != 1) die(what);
}

const EVP_MD* blake2s_md() {
  static EVP_MD* md = EVP_MD_fetch(nullptr, "BLAKE2S-256", nullptr);
  if (!md) die("fetch BLAKE2S-256");
  return md;
}

EVP_MAC* fetch_mac(const char* name) {
  EVP_MAC* m = EVP_MAC_fetch(nullptr, name, nullptr);
  if (!m) die(name);
  return m;
}

struct MdCtxFree {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
struct MacCtxFree {
  void operator()(EVP_MAC_CTX* c) const { EVP_MAC_CTX_free(c); }
};

// One context per thread per primitive, set up once and re-keyed per call.
EVP_MD_CTX* hash_ctx() {
  thread_local std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
  if (!ctx) die("EVP_MD_CTX_new");
  return ctx.get();
}

EVP_MAC_CTX* hmac_ctx() {
  static EVP_MAC* hmac = fetch_mac("HMAC");
  thread_local std::unique_ptr<EVP_MAC_CTX, MacCtxFree> ctx = [] {
    std::unique_ptr<EVP_MAC_CTX, MacCtxFree> c(EVP_MAC_CTX_new(hmac));
    if (!c) die("EVP_MAC_CTX_new HMAC");
    char digest[] = "BLAKE2S-256";
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
        OSSL_PARAM_construct_end(),
    };
    check(EVP_MAC_CTX_set_params(c.get(), params), "HMAC digest");
    return c;
  }();
  return ctx.get();
}

EVP_MAC_CTX* keyed_mac_ctx() {
  static EVP_MAC* blake2smac = fetch_mac("BLAKE2SMAC");
  thread_local std::unique_ptr<EVP_MAC_CTX, MacCtxFree> ctx = [] {
    std::unique_ptr<EVP_MAC_CTX, MacCtxFree> c(EVP_MAC_CTX_new(blake2smac));
    if (!c) die("EVP_MAC_CTX_new BLAKE2SMAC");
    size_t size = kMacSize;
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_size_t(OSSL_MAC_PARAM_SIZE, &size),
        OSSL_PARAM_construct_end(),
    };
    check(EVP_MAC_CTX_set_params(c.get(), params), "BLAKE2SMAC size");
    return c;
  }();
  return ctx.get();
}

void mac_update(EVP_MAC_CTX* ctx, Bytes data) {
  if (!data.empty()) check(EVP_MAC_update(ctx, data.data(), data.size()), "MAC update");
}

template <size_t N>
void mac_final(EVP_MAC_CTX* ctx, std::array<uint8_t, N>& out) {
  size_t len = 0;
  check(EVP_MAC_final(ctx, out.data(), &len, out.size()), "MAC final");
  if (len != N) die("MAC length");
}

// KDFn for n = out.size(); outputs are written only at the end, so they may alias `key`.
template <size_t N>
void kdf(const std::array<Key*, N>& out, Bytes key, Bytes input) {
  Key prk = hmac(key, input);
  std::array<Key, N> t;
  const uint8_t one = 1;
  t[0] = hmac(prk, Bytes(&one, 1));
  for (size_t i = 1; i < N; ++i) {
    const uint8_t counter = static_cast<uint8_t>(i + 1);
    t[i] = hmac(prk, t[i - 1], Bytes(&counter, 1));
  }
  for (size_t i = 0; i < N; ++i)
    *out[i] = t[i];
  secure_wipe(prk);
  secure_wipe(t);
}

}  // namespace

Key hash(Bytes a, Bytes b) {
  EVP_MD_CTX* ctx = hash_ctx();
  check(EVP_DigestInit_ex2(ctx, blake2s_md(), nullptr), "digest init");
  if (!a.empty()) check(EVP_DigestUpdate(ctx, a.data(), a.size()), "digest update");
  if (!b.empty()) check(EVP_DigestUpdate(ctx, b.data(), b.size()), "digest update");
  Key out;
  unsigned int len = 0;
  check(EVP_DigestFinal_ex(ctx, out.data(), &len), "digest final");
  if (len != kHashSize) die("digest length");
  return out;
}

Key hmac(Bytes key, Bytes a, Bytes b) {
  EVP_MAC_CTX* ctx = hmac_ctx();
  // HMAC accepts an empty key; OpenSSL wants a non-null pointer to mean "new key".
  static const uint8_t kEmpty = 0;
  check(EVP_MAC_init(ctx, key.empty() ? &kEmpty : key.data(), key.size(), nullptr), "HMAC init");
  mac_update(ctx, a);
  mac_update(ctx, b);
  Key out;
  mac_final(ctx, out);
  return out;
}

Mac mac(Bytes key, Bytes data) {
  if (key.empty() || key.size() > 32) die("BLAKE2s MAC key must be 1..32 bytes");
  EVP_MAC_CTX* ctx = keyed_mac_ctx();
  check(EVP_MAC_init(ctx, key.data(), key.size(), nullptr), "BLAKE2SMAC init");
  mac_update(ctx, data);
  Mac out;
  mac_final(ctx, out);
  return out;
}

void kdf1(Key& t1, Bytes key, Bytes input) {
  kdf<1>({&t1}, key, input);
}

void kdf2(Key& t1, Key& t2, Bytes key, Bytes input) {
  kdf<2>({&t1, &t2}, key, input);
}

void kdf3(Key& t1, Key& t2, Key& t3, Bytes key, Bytes input) {
  kdf<3>({&t1, &t2, &t3}, key, input);
}

}  // namespace tern::crypto

#include "io/tls_context.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <fmt/core.h>

namespace tern::io {

namespace {

SSL_CTX* new_ctx(const SSL_METHOD* method) {
  SSL_CTX* ctx = SSL_CTX_new(method);
  if (ctx == nullptr) return nullptr;
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  // Partial writes let a nonblocking caller keep its own buffer; a peer that closes without
  // close_notify ends the stream like a TCP FIN (coturn and many clients do that).
  SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
  return ctx;
}

}  // namespace

std::string openssl_error_text(const char* fallback) {
  unsigned long code = ERR_get_error();
  ERR_clear_error();
  if (code == 0) return fallback;
  const char* reason = ERR_reason_error_string(code);
  if (reason != nullptr) return reason;
  char buf[256];
  ERR_error_string_n(code, buf, sizeof buf);
  return buf;
}

void TlsContext::Free::operator()(ssl_ctx_st* ctx) const {
  SSL_CTX_free(ctx);
}

Result<TlsContext> TlsContext::client(const TlsClientOptions& options) {
  SSL_CTX* ctx = new_ctx(TLS_client_method());
  if (ctx == nullptr) return fail("creating a TLS context failed: " + openssl_error_text("?"));
  TlsContext out(ctx, false, options.insecure);
  if (!options.ca_file.empty()) {
    if (SSL_CTX_load_verify_locations(ctx, options.ca_file.c_str(), nullptr) != 1) {
      return fail(fmt::format("cannot load the CA file {}: {} (it must be PEM certificates)",
                              options.ca_file, openssl_error_text("unreadable")));
    }
  } else if (SSL_CTX_set_default_verify_paths(ctx) != 1) {
    return fail("cannot load the system's CA certificates: " + openssl_error_text("?") +
                " (install ca-certificates, or give a CA file)");
  }
  // Verification runs even when insecure, so the result can be reported; only the verdict
  // differs: insecure completes the handshake, secure aborts it with the reason.
  SSL_CTX_set_verify(ctx, options.insecure ? SSL_VERIFY_NONE : SSL_VERIFY_PEER, nullptr);
  return out;
}

Result<TlsContext> TlsContext::server(const std::string& cert_file, const std::string& key_file) {
  SSL_CTX* ctx = new_ctx(TLS_server_method());
  if (ctx == nullptr) return fail("creating a TLS context failed: " + openssl_error_text("?"));
  TlsContext out(ctx, true, false);
  if (SSL_CTX_use_certificate_chain_file(ctx, cert_file.c_str()) != 1) {
    return fail(
        fmt::format("cannot load the TLS certificate {}: {} (it must be PEM, the "
                    "server certificate first, then intermediates)",
                    cert_file, openssl_error_text("unreadable")));
  }
  if (SSL_CTX_use_PrivateKey_file(ctx, key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
    if (ERR_GET_REASON(ERR_peek_last_error()) == X509_R_KEY_VALUES_MISMATCH) {
      ERR_clear_error();
      return fail(fmt::format("the private key in {} does not belong to the certificate in {}",
                              key_file, cert_file));
    }
    return fail(
        fmt::format("cannot load the TLS private key {}: {} (it must be an unencrypted "
                    "PEM key)",
                    key_file, openssl_error_text("unreadable")));
  }
  if (SSL_CTX_check_private_key(ctx) != 1) {
    ERR_clear_error();
    return fail(fmt::format("the private key in {} does not belong to the certificate in {}",
                            key_file, cert_file));
  }
  return out;
}

}  // namespace tern::io

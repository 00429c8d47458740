// TLS configuration on OpenSSL 3, for TURN over TLS (turns:), `tern relay`'s TLS listener and
// the control server. A client context trusts the system's CAs or one CA file and checks the
// server's name; an explicit insecure mode (for `tern doctor`, which reports what it found
// instead of refusing) skips the check. A server context holds a certificate chain and its key.
#pragma once

#include <memory>
#include <string>

#include "base/result.hpp"

struct ssl_ctx_st;  // OpenSSL's SSL_CTX

namespace tern::io {

struct TlsClientOptions {
  std::string ca_file;    // PEM file of trusted CAs; empty: the system's store
  bool insecure = false;  // complete the handshake whatever the certificate says
};

class TlsContext {
 public:
  [[nodiscard]] static Result<TlsContext> client(const TlsClientOptions& options);
  // `cert_file`: PEM, the server certificate first, then its intermediates. `key_file`: PEM
  // private key matching it. Errors name the file and what is wrong with it.
  [[nodiscard]] static Result<TlsContext> server(const std::string& cert_file,
                                                 const std::string& key_file);

  bool is_server() const { return server_; }
  bool insecure() const { return insecure_; }
  ssl_ctx_st* native() const { return ctx_.get(); }

 private:
  struct Free {
    void operator()(ssl_ctx_st* ctx) const;
  };
  TlsContext(ssl_ctx_st* ctx, bool server, bool insecure)
      : ctx_(ctx), server_(server), insecure_(insecure) {}

  std::unique_ptr<ssl_ctx_st, Free> ctx_;
  bool server_ = false;
  bool insecure_ = false;
};

// The first error on OpenSSL's error queue as text (and the queue cleared); `fallback` if empty.
std::string openssl_error_text(const char* fallback);

}  // namespace tern::io

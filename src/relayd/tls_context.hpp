// TLS for `tern relay`'s TURN-over-TLS listeners (RFC 8656 §3.1, port 5349): the server's
// certificate and key, loaded once and checked to match, and one nonblocking server session
// per accepted connection (io/tls_stream on OpenSSL 3). An interface, so that the stream
// server and its tests do not link OpenSSL's TLS library; only load() does.
#pragma once

#include <memory>
#include <string>

#include "base/bytes.hpp"
#include "base/result.hpp"
#include "io/fd.hpp"
#include "relayd/stream_io.hpp"

namespace tern::relayd {

class TlsSession {
 public:
  virtual ~TlsSession() = default;
  virtual StreamIo::Outcome read(MutableBytes into) = 0;
  virtual StreamIo::Outcome write(Bytes data) = 0;
  virtual bool wants_write() const = 0;
};

class TlsContext {
 public:
  // Loads a PEM certificate chain and its private key; errors name --tls-cert or --tls-key
  // and the fix.
  [[nodiscard]] static Result<std::unique_ptr<TlsContext>> load(const std::string& cert_path,
                                                                const std::string& key_path);
  virtual ~TlsContext() = default;
  // A server session on an accepted, nonblocking socket, which it owns from then on.
  [[nodiscard]] virtual Result<std::unique_ptr<TlsSession>> accept(io::UniqueFd fd) const = 0;
};

}  // namespace tern::relayd

// TLS on a nonblocking TcpStream (OpenSSL 3). The handshake, reads and writes each say what
// to wait for (read or write readiness: TLS may need to write while reading and the reverse),
// so an epoll loop drives them like plain TCP. Handshake failures come back as text naming
// the cause: the certificate expired, was issued for other names or by an untrusted CA, the
// peer sent an alert, or the port does not speak TLS.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "base/bytes.hpp"
#include "base/result.hpp"
#include "io/tcp_stream.hpp"
#include "io/tls_certificate.hpp"
#include "io/tls_context.hpp"

namespace tern::io {

class TlsStream {
 public:
  // Client end. `server_name` (a DNS name or an address) is sent as SNI, unless an address,
  // and is the name the certificate must cover (not enforced with an insecure context).
  [[nodiscard]] static Result<TlsStream> client(const TlsContext& ctx, TcpStream tcp,
                                                const std::string& server_name);
  [[nodiscard]] static Result<TlsStream> server(const TlsContext& ctx, TcpStream tcp);

  TlsStream(TlsStream&&) noexcept;
  TlsStream& operator=(TlsStream&&) noexcept;
  ~TlsStream();

  // Advances the handshake (connecting the TCP stream first if needed). {wait = kNone} once
  // it is complete; {wait = kRead/kWrite} to call again on that readiness.
  [[nodiscard]] Result<IoResult> handshake();
  bool handshake_done() const;

  // As TcpStream::read/write. TLS can hold decrypted bytes the socket no longer signals:
  // read until it reports a wait before going back to epoll.
  [[nodiscard]] Result<IoResult> read(MutableBytes buf);
  [[nodiscard]] Result<IoResult> write(Bytes data);
  // Sends close_notify (best effort, never waits).
  void shutdown();

  // After the handshake (or a failed certificate check): what the peer's certificate says.
  std::optional<TlsCertificateFacts> peer_certificate() const;
  std::string protocol() const;  // "TLSv1.3"
  std::string cipher() const;    // "TLS_AES_256_GCM_SHA384"

  TcpStream& tcp();
  const TcpStream& tcp() const;
  int fd() const { return tcp().fd(); }

  struct State;  // internal: the OpenSSL session and what its callbacks saw

 private:
  explicit TlsStream(std::unique_ptr<State> state);
  [[nodiscard]] Result<IoResult> failed(int ssl_error, const char* what);
  std::string handshake_failure_text(int ssl_error);

  std::unique_ptr<State> state_;
};

}  // namespace tern::io

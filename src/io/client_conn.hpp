// A client connection that blocks until a deadline, over io/'s nonblocking TCP and TLS streams:
// for one request and its answer (the admin commands' control API calls) and for simple
// clients (tests/tools' control stream client). Not for event loops: each call waits.
#pragma once

#include <string>
#include <string_view>
#include <variant>

#include "base/ip.hpp"
#include "base/result.hpp"
#include "base/time.hpp"
#include "io/poller.hpp"
#include "io/tcp_stream.hpp"
#include "io/tls_stream.hpp"

namespace tern::io {

struct ClientTarget {
  Endpoint to;
  bool tls = true;
  std::string host;     // TLS: the name the certificate must carry (and SNI)
  std::string ca_file;  // TLS: trusted CA file; empty: the system's
};

class ClientConn {
 public:
  // Connects, and with TLS completes the handshake, before `deadline`.
  [[nodiscard]] static Result<ClientConn> connect(const ClientTarget& target, Instant deadline);

  int fd() const;
  // Writes all of `data` before `deadline`.
  [[nodiscard]] Status write_all(std::string_view data, Instant deadline);
  // Appends what arrives, waiting until `deadline` for something: true while the stream is
  // open (whether or not anything came), false once the peer ended it.
  [[nodiscard]] Result<bool> read_some(std::string& into, Instant deadline);

 private:
  ClientConn(std::variant<TcpStream, TlsStream> s, Poller p)
      : s_(std::move(s)), poller_(std::move(p)) {}
  // Waits for `wait` until `deadline`; false on timeout.
  bool wait(IoWait wait, Instant deadline);

  std::variant<TcpStream, TlsStream> s_;
  Poller poller_;
};

}  // namespace tern::io

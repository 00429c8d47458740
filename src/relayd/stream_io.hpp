// One accepted connection's bytes, plain TCP or TLS: nonblocking reads and writes with one
// outcome type, so the stream server frames and queues the same way for both.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include "base/bytes.hpp"
#include "base/result.hpp"
#include "io/fd.hpp"

namespace tern::relayd {

class TlsContext;
class TlsSession;

class StreamIo {
 public:
  enum Status : uint8_t {
    kOk,          // `bytes` moved (for TLS a read may move 0: a record is not yet whole)
    kWouldBlock,  // try again when the poller says so
    kClosed,      // the peer closed the stream
    kError,       // a socket error
    kTlsError,    // the TLS handshake or a record failed
  };
  struct Outcome {
    Status status = kOk;
    size_t bytes = 0;
    bool wants_write = false;  // TLS: the handshake has bytes to send
  };

  // Plain TCP when `tls` is null, else a server-side TLS session on `fd`.
  [[nodiscard]] static Result<StreamIo> make(io::UniqueFd fd, const TlsContext* tls);
  StreamIo();
  ~StreamIo();
  StreamIo(StreamIo&&) noexcept;
  StreamIo& operator=(StreamIo&&) noexcept;

  int fd() const { return raw_fd_; }
  [[nodiscard]] Outcome read(MutableBytes into);
  [[nodiscard]] Outcome write(Bytes data);
  bool wants_write() const;

 private:
  io::UniqueFd fd_;  // plain TCP; with TLS the session owns the socket
  int raw_fd_ = -1;
  std::unique_ptr<TlsSession> tls_;
};

}  // namespace tern::relayd

// Nonblocking TCP for TURN over TCP/TLS, `tern relay`'s stream listeners and the control
// server: a stream that connects without blocking, and a listener. Reads and writes never
// block: they say which readiness to wait for (io::Poller), so one epoll loop drives many
// streams. TLS (io/tls_stream.hpp) runs on top of a TcpStream.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>

#include "base/bytes.hpp"
#include "base/ip.hpp"
#include "base/result.hpp"
#include "io/fd.hpp"

namespace tern::io {

// What to wait for before calling a nonblocking stream operation again.
enum class IoWait : uint8_t { kNone, kRead, kWrite };

// The outcome of one nonblocking read, write or handshake step.
struct IoResult {
  size_t bytes = 0;             // moved by this call
  IoWait wait = IoWait::kNone;  // nothing (more) moved: wait for this readiness, then retry
  bool closed = false;          // read: the peer ended the stream in order (EOF)

  bool would_block() const { return wait != IoWait::kNone; }
};

struct TcpConnectOptions {
  // SO_MARK on the socket before the SYN leaves (0: none), so that policy routing keeps the
  // connection out of a tunnel that routes everything else (FwMark). Needs CAP_NET_ADMIN.
  uint32_t mark = 0;
  // TCP_MAXSEG before the SYN (0: the kernel's choice): the largest segment either side sends,
  // so that a path whose MTU shrank behind an ICMP filter still carries the stream.
  uint16_t mss = 0;
};

// What TCP_INFO says of a connection's progress (Linux): enough to tell a stream whose
// segments vanish (a path MTU black hole) from one that is idle or moving.
struct TcpProgress {
  uint32_t unacked = 0;      // segments sent and not yet acknowledged
  uint32_t retransmits = 0;  // retransmission timeouts in a row (0 once an ack moves on)
  uint32_t mss = 0;          // the segment size in use now
};

class TcpStream {
 public:
  // Starts a nonblocking connect. Wait until the fd is writable, then call finish_connect().
  [[nodiscard]] static Result<TcpStream> connect(const Endpoint& to,
                                                 const TcpConnectOptions& options = {});
  // Owns an already connected stream socket (accept(), socketpair() in tests); made nonblocking.
  [[nodiscard]] static Result<TcpStream> adopt(UniqueFd fd);

  // After writability: true when connected, false while still connecting, an error naming the
  // cause ("connection refused: nothing listens on TCP 192.0.2.1:3478") when it failed.
  [[nodiscard]] Result<bool> finish_connect();
  bool connected() const { return connected_; }

  // Reads up to buf.size() bytes. EAGAIN is {wait = kRead}; end of stream is {closed = true}.
  [[nodiscard]] Result<IoResult> read(MutableBytes buf);
  // Writes what the socket buffer takes now (possibly less than data.size()); a full buffer is
  // {wait = kWrite}. Never raises SIGPIPE: a reset peer is an error.
  [[nodiscard]] Result<IoResult> write(Bytes data);
  // Sends FIN: the peer reads end of stream; reading goes on.
  [[nodiscard]] Status shutdown_write();
  // Small messages leave at once (TCP_NODELAY): STUN transactions are request/response.
  [[nodiscard]] Status set_no_delay(bool on);
  // TCP_INFO now; nullopt if the kernel will not say (not connected, not a TCP socket).
  std::optional<TcpProgress> progress() const;

  int fd() const { return fd_.get(); }
  // The remote end as given to connect() or as the kernel reports it.
  const Endpoint& peer() const { return peer_; }
  // The local address and port the kernel chose; a zero endpoint if it cannot say.
  Endpoint local() const;

 private:
  TcpStream(UniqueFd fd, Endpoint peer, bool connected)
      : fd_(std::move(fd)), peer_(peer), connected_(connected) {}

  UniqueFd fd_;
  Endpoint peer_;
  bool connected_ = false;
};

class TcpListener {
 public:
  // Listens on exactly `local` (port 0: ephemeral), with SO_REUSEADDR; nonblocking.
  [[nodiscard]] static Result<TcpListener> listen(const Endpoint& local, int backlog = 128);

  // The next pending connection, or nullopt when none is waiting (EAGAIN) or it vanished
  // before accept (ECONNABORTED). Errors only for a broken listener or fd exhaustion.
  [[nodiscard]] Result<std::optional<TcpStream>> accept();

  int fd() const { return fd_.get(); }
  const Endpoint& local() const { return local_; }

 private:
  TcpListener(UniqueFd fd, Endpoint local) : fd_(std::move(fd)), local_(local) {}

  UniqueFd fd_;
  Endpoint local_;
};

// Text for a failed TCP connect to `to`, with the likely fix (shared by TCP and TLS callers).
std::string connect_error_text(const Endpoint& to, int err);

}  // namespace tern::io

// The relay's TCP or TLS connection (Url = turn:HOST:PORT?transport=tcp, turns:HOST[:PORT]):
// TURN over a stream (RFC 8656 §12.5: STUN messages and ChannelData padded to 4, one after
// another), connected without blocking (TLS handshake included) and made again after a loss.
// The data path takes the frames straight off the stream's receive buffer (pump_relay), each a
// whole STUN message or ChannelData, in place: no copy beyond the read itself. fd() is an epoll
// set holding the connection's socket, so it stays the same fd across reconnects.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/ip.hpp"
#include "base/result.hpp"
#include "base/time.hpp"
#include "io/poller.hpp"
#include "io/tcp_stream.hpp"
#include "io/tls_stream.hpp"

namespace tern::agent {

// Whether a [Relay] Url asks for TCP (?transport=tcp, any case).
bool relay_url_is_tcp(std::string_view url);

// A TLS record around what it carries: header 5, and TLS 1.2's explicit nonce 8 and GCM tag 16
// (TLS 1.3: tag 16 and the content type 1). A record can hold many frames: this is the worst
// case per frame, counted as relay framing on a TLS leg.
inline constexpr size_t kTlsRecordOverhead = 5 + 8 + 16;

// A stream whose segments stopped arriving: bytes in flight and the retransmission timer firing
// with no ack moving on. With ICMP "fragmentation needed" filtered, a path towards the relay whose
// MTU shrank does this forever (unless the host sets net.ipv4.tcp_mtu_probing). Sans-I/O: fed
// TCP_INFO snapshots and the time.
class StreamStallWatch {
 public:
  // Retransmission timeouts in a row, or how long one stays unanswered, that make a stall.
  static constexpr uint32_t kTimeoutsInRow = 3;
  static constexpr Duration kStuckFor = std::chrono::seconds(2);

  // True when `p`, taken at `now`, shows a stall; anything acked since ends one.
  [[nodiscard]] bool observe(const io::TcpProgress& p, Instant now);
  void reset() { since_.reset(); }

 private:
  std::optional<Instant> since_;  // the first snapshot of the current run of timeouts
};

// The segment size after a stall: a 1280-byte path (IPv6's minimum MTU) less the IP and TCP
// headers and 20 bytes for TCP options (timestamps take 12).
inline constexpr uint16_t kRelayClampMssV4 = 1280 - 20 - 20 - 20;
inline constexpr uint16_t kRelayClampMssV6 = 1280 - 40 - 20 - 20;

struct RelayStreamOptions {
  // turns: the TLS client context and the name the certificate must cover (the Url's host:
  // sent as SNI unless an address).
  std::optional<io::TlsContext> tls;
  std::string server_name;
  uint32_t mark = 0;  // SO_MARK on each connection (FwMark); set_mark() can change it later
  uint16_t mss = 0;   // TCP_MAXSEG on each connection (0: the kernel's); a stall sets it
};

class RelayStream {
 public:
  [[nodiscard]] static Result<RelayStream> open(const Endpoint& server,
                                                RelayStreamOptions options = {});

  bool tls() const { return options_.tls.has_value(); }
  // Applies from the next connection on: call it before the first connect().
  void set_mark(uint32_t mark) { options_.mark = mark; }
  // Why the last connection attempt failed or ended (with the fix when one is known), and how
  // many attempts in a row failed; both cleared when a connection comes up.
  const std::string& last_error() const { return last_error_; }
  uint32_t failures() const { return failures_; }

  // Stalls seen (StreamStallWatch): each dropped the connection, which comes back with its
  // segments clamped to mss() (0: not clamped).
  uint64_t stalls() const { return stalls_; }
  uint16_t mss() const { return options_.mss; }
  // Reads TCP_INFO when its time has come (check_at()) and drops a stalled connection.
  void check(Instant now);
  std::optional<Instant> check_at() const {
    return connected() ? std::optional(check_at_) : std::nullopt;
  }

  int fd() const { return poller_.fd(); }
  bool connected() const;
  bool down() const { return !tcp_ && !tls_; }
  // Starts a connect (when down and its time has come).
  void connect(Instant now);
  std::optional<Instant> reconnect_at() const {
    return down() ? std::optional(retry_at_) : std::nullopt;
  }

  // Progress without blocking: finishes a connect (and handshake), writes what waits, and
  // takes up to frames.size() whole frames off the stream into `frames`: STUN messages, and
  // ChannelData without its stream padding. They are writable views into the stream's
  // receive buffer, valid until the next pump() or connect(). Returns how many.
  size_t pump(std::span<MutableBytes> frames, Instant now);
  // Queues a whole frame (STUN or padded ChannelData) and writes what the socket takes.
  // False when the stream is not up or its queue is full.
  bool send(Bytes frame, Instant now) {
    if (!queue(frame)) return false;
    write(now);
    return true;
  }
  // The same in two steps, so that a batch leaves in one write.
  bool queue(Bytes frame);
  void write(Instant now) { write_out(now); }
  // pump() stopped before the socket said it had nothing more (at its frame limit, or TLS may
  // hold decrypted bytes): fd() then signals at once, so that the loop calls pump() again.
  bool backlog() const { return backlog_; }
  // The connection came up, or went away (the allocation with it), since the last call.
  bool take_came_up() { return std::exchange(came_up_, false); }
  bool take_lost() { return std::exchange(lost_, false); }
  // Ends the connection now and connects again after the backoff.
  void drop(Instant now, std::string_view why);

  RelayStream(RelayStream&&) noexcept = default;
  RelayStream& operator=(RelayStream&&) noexcept = default;

 private:
  RelayStream(const Endpoint& server, io::Poller poller, RelayStreamOptions options);
  void write_out(Instant now);
  void watch();
  // Finishes the TCP connect and the TLS handshake: true once they are done.
  bool finish(Instant now);
  int sock() const { return tls_ ? tls_->fd() : tcp_->fd(); }
  [[nodiscard]] Result<io::IoResult> read_some(MutableBytes buf);
  [[nodiscard]] Result<io::IoResult> write_some(Bytes data);
  std::string_view kind() const { return tls() ? "TLS" : "TCP"; }

  Endpoint server_;
  io::Poller poller_;
  RelayStreamOptions options_;
  // One of the two while connected or connecting: TLS runs its own TCP stream.
  std::optional<io::TcpStream> tcp_;
  std::optional<io::TlsStream> tls_;
  io::IoWait tls_wait_ = io::IoWait::kNone;  // what the handshake or a read waits for
  std::string last_error_;
  uint32_t failures_ = 0;
  // Read from the stream: frames handed out by the last pump() before rx_start_, then the
  // bytes of frames not yet whole (allocated once, room for the largest frame).
  std::vector<uint8_t> rx_;
  size_t rx_start_ = 0;
  size_t rx_end_ = 0;
  std::vector<uint8_t> out_;  // frames not yet written (capacity reserved once)
  size_t out_start_ = 0;
  Instant retry_at_{};
  Duration backoff_{};
  bool came_up_ = false;
  bool lost_ = false;
  bool backlog_ = false;
  bool watching_write_ = false;
  StreamStallWatch stall_;
  Instant check_at_{};
  uint64_t stalls_ = 0;
};

}  // namespace tern::agent

// The relay's TCP connection (Url = turn:HOST:PORT?transport=tcp): TURN over a stream
// (RFC 8656 §12.5: STUN messages and ChannelData padded to 4, one after another), connected
// without blocking and made again after a loss. The data path reads the relay as datagrams
// (pump_relay), so each frame taken off the stream is handed over as one loopback datagram to
// the link's own UDP socket; fd() is an epoll set of both, stable across reconnects.
#pragma once

#include <optional>
#include <string_view>
#include <utility>
#include <vector>

#include "base/ip.hpp"
#include "base/result.hpp"
#include "base/time.hpp"
#include "io/poller.hpp"
#include "io/tcp_stream.hpp"
#include "io/udp_socket.hpp"
#include "wire/stun_tcp_framing.hpp"

namespace tern::agent {

// Whether a [Relay] Url asks for TCP (?transport=tcp, any case).
bool relay_url_is_tcp(std::string_view url);

class RelayStream {
 public:
  // `inbox_fd`, on 127.0.0.1:`inbox_port`, is the link's socket the frames are delivered to.
  [[nodiscard]] static Result<RelayStream> open(const Endpoint& server, int inbox_fd,
                                                uint16_t inbox_port);

  int fd() const { return poller_.fd(); }
  // The loopback address frames arrive from: nothing else is taken as the relay's.
  const Endpoint& source() const { return source_; }
  bool connected() const { return stream_ && stream_->connected(); }
  bool down() const { return !stream_; }
  // Starts a connect (when down and its time has come).
  void connect(Instant now);
  std::optional<Instant> reconnect_at() const {
    return down() ? std::optional(retry_at_) : std::nullopt;
  }

  // Progress without blocking: finishes a connect, writes what waits, and hands up to `frames`
  // frames over to the inbox. Returns true once when the connection has just come up.
  bool pump(size_t frames, Instant now);
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
  // pump() stopped at its limit with bytes still buffered: call it again without waiting for
  // the socket (which may have nothing more to signal).
  bool backlog() const { return backlog_; }
  // The connection went away since the last call (the allocation with it).
  bool take_lost() { return std::exchange(lost_, false); }
  // Ends the connection now and connects again after the backoff.
  void drop(Instant now, std::string_view why);

  RelayStream(RelayStream&&) noexcept = default;
  RelayStream& operator=(RelayStream&&) noexcept = default;

 private:
  RelayStream(const Endpoint& server, io::Poller poller, io::UdpSocket bridge, Endpoint inbox);
  void write_out(Instant now);
  void watch();

  Endpoint server_;
  io::Poller poller_;
  io::UdpSocket bridge_;  // sends frames to the inbox
  Endpoint inbox_;
  Endpoint source_;
  std::optional<io::TcpStream> stream_;
  wire::StunStreamFramer framer_;
  std::vector<uint8_t> in_;  // read from the stream, not yet fed to the framer
  size_t in_start_ = 0;
  size_t in_end_ = 0;
  std::vector<uint8_t> out_;  // frames not yet written (capacity reserved once)
  size_t out_start_ = 0;
  io::SendBatch handover_;
  Instant retry_at_{};
  Duration backoff_{};
  bool lost_ = false;
  bool backlog_ = false;
  bool watching_write_ = false;
};

}  // namespace tern::agent

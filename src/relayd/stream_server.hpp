// TURN over TCP and TLS for `tern relay` (RFC 8656 §3.1, RFC 8489 §6.2.2): listeners and
// their connections in the relay's event loop. Each connection is one 5-tuple; its byte stream
// is cut into STUN messages and ChannelData (wire/stun_tcp_framing) that go to the core like
// datagrams, and the core's answers for that 5-tuple are written back on it.
//
// Bounded whatever a client does: at most `max_connections` at once (more are accepted and
// closed at once, counted), a receive buffer that grows only to the largest frame, an output
// queue of at most `max_queued` bytes (a frame that does not fit is dropped whole, as a full
// UDP socket would, so the stream stays in step), and connections closed when they send
// nothing for `idle` (`first_frame` before their first whole frame).
#pragma once

#include <atomic>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "base/bytes.hpp"
#include "base/ip.hpp"
#include "base/result.hpp"
#include "base/time.hpp"
#include "io/fd.hpp"
#include "io/poller.hpp"
#include "relay/five_tuple.hpp"
#include "wire/stun_tcp_framing.hpp"

namespace tern::relayd {

class TlsContext;

struct StreamLimits {
  size_t max_connections = 1024;
  size_t max_frame = wire::kStunStreamMaxFrame;
  size_t max_queued = 256 * 1024;
  Duration idle = std::chrono::minutes(10);  // more than a refresh interval
  Duration first_frame = std::chrono::seconds(30);
  // With several event loops, each has a server of its own and max_connections bounds them
  // together: this counts their connections (nullptr: this server alone).
  std::atomic<size_t>* open_total = nullptr;
  bool reuse_port = false;  // SO_REUSEPORT on the listeners: one per loop on each address
};

struct StreamCounters {
  uint64_t accepted = 0;
  uint64_t refused = 0;         // over max_connections
  uint64_t closed_idle = 0;     // idle or no first frame in time
  uint64_t closed_framing = 0;  // not STUN/ChannelData, or a frame over max_frame
  uint64_t closed_tls = 0;      // the TLS handshake or record layer failed
  uint64_t dropped_frames = 0;  // the output queue was full, or the connection gone
};

// A server's counters and connections open, for the metrics endpoint.
struct StreamStats {
  relay::Transport transport = relay::Transport::kTcp;
  uint64_t connections = 0;
  StreamCounters counters;

  StreamStats& operator+=(const StreamStats& o);
};

// What the relay loop does with a connection's frames.
class StreamSink {
 public:
  virtual ~StreamSink() = default;
  virtual void on_frame(const relay::FiveTuple& tuple, Bytes frame, Instant now) = 0;
  virtual void on_closed(const relay::FiveTuple& tuple) = 0;
};

class StreamServer {
 public:
  // Listens on every `at` (TLS when `tls` is given, which must outlive the server). Poller
  // tokens token_base .. token_base + at.size() + max_connections are the server's.
  // `option` names the command-line option in errors ("--listen", "--tls-port").
  [[nodiscard]] static Result<std::unique_ptr<StreamServer>> listen(
      std::span<const Endpoint> at, relay::Transport transport, const TlsContext* tls,
      io::Poller& poller, uint64_t token_base, const StreamLimits& limits, std::string_view option);
  ~StreamServer();
  StreamServer(const StreamServer&) = delete;
  StreamServer& operator=(const StreamServer&) = delete;

  bool owns(uint64_t token) const {
    return token >= token_base_ && token < token_base_ + listeners_.size() + slots_.size();
  }
  void ready(const io::Ready& event, Instant now, StreamSink& sink);
  // Writes one whole frame to the connection of (client, server); false when there is none
  // or its queue is full (the frame is dropped and counted).
  bool send(const Endpoint& client, const Endpoint& server, Bytes frame);
  // Bytes waiting in the queue of that connection (0 when there is none).
  size_t queued(const Endpoint& client, const Endpoint& server) const;
  // Closes connections idle past their limit; call at next_deadline().
  void expire(Instant now, StreamSink& sink);
  std::optional<Instant> next_deadline() const;
  // Closes every connection (telling the sink), as at shutdown.
  void close_all(StreamSink& sink);

  relay::Transport transport() const { return transport_; }
  size_t connection_count() const { return by_tuple_.size(); }
  const StreamCounters& counters() const { return counters_; }
  StreamStats stats() const { return {transport_, by_tuple_.size(), counters_}; }
  // The bound listener addresses (port 0 resolved), in the order given.
  const std::vector<Endpoint>& bound() const { return bound_; }

  struct Connection;

 private:
  StreamServer(relay::Transport transport, const TlsContext* tls, io::Poller& poller,
               uint64_t token_base, const StreamLimits& limits);
  void accept_all(size_t listener, Instant now);
  void read(size_t slot, Instant now, StreamSink& sink);
  void write(size_t slot);
  void close(size_t slot, StreamSink& sink);
  void want_write(Connection& c, bool on);
  // A place under the bound shared with the other loops' servers (always, without one).
  bool take_shared_slot();
  void give_shared_slot();
  uint64_t slot_token(size_t slot) const { return token_base_ + listeners_.size() + slot; }

  relay::Transport transport_;
  const TlsContext* tls_;
  io::Poller* poller_;
  uint64_t token_base_;
  StreamLimits limits_;
  std::vector<io::UniqueFd> listeners_;
  std::vector<Endpoint> bound_;
  std::vector<std::unique_ptr<Connection>> slots_;  // max_connections, null when free
  std::vector<size_t> free_;
  std::unordered_map<relay::FiveTuple, size_t, relay::FiveTupleHash> by_tuple_;
  std::optional<Instant> next_sweep_;
  StreamCounters counters_;
};

// Prometheus text for the given servers' stats (null ones skipped): connections open,
// accepted, refused and closed by reason, and frames dropped, each labelled by transport.
std::string stream_metrics_text(std::initializer_list<const StreamStats*> servers);

}  // namespace tern::relayd

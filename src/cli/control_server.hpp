// The control server's loop: one epoll loop over the listener, the plain HTTP requests
// (one per connection, answered by control::Api, 10 s to send it, at most 512 open: at the
// bound the loop stops accepting and leaves new connections in the listen backlog) and
// the agents' streams (cli/control_stream.hpp, their own bound). It publishes map changes
// after every change made here, when the store signals or its revision moves (another
// server on the same database), and every minute (relay credentials roll over).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "base/result.hpp"
#include "cli/control_stream.hpp"
#include "control/api.hpp"
#include "control/store.hpp"
#include "io/signals.hpp"
#include "io/tls_context.hpp"

namespace tern::cli {

struct ServerParts {
  io::Poller poller;
  io::SignalFd signals;
  io::TcpListener listener;
  std::optional<io::TlsContext> tls;  // none: plain HTTP (loopback development)
};

struct ServerOptions {
  std::optional<int64_t> peer_expiry_s;
  std::vector<control::RelayConfig> relays;
  StreamOptions streams;
};

class Server {
 public:
  Server(control::Store& store, control::Api& api, ServerParts parts, ServerOptions options);
  // Until SIGINT/SIGTERM.
  Status run();

 private:
  void watch_changes(bool recheck);
  struct Connection {
    NetStream stream;
    Endpoint peer;
    Instant deadline{};
    std::string in;
    std::string out;
    size_t sent = 0;
    bool answered = false;  // `out` holds the whole response
    bool unread = false;    // the request was refused before all of it was read
    bool draining = false;  // response sent: reading what is left, then closing
    size_t drained = 0;
  };

  // Accepts (and answers what is there to read) up to a batch; the rest wait for the next turn.
  void accept_all(Instant now);
  // Accepting stops at kMaxConnections and resumes below it.
  void pace_accepting();
  void close(uint64_t token);
  void want(uint64_t token, Connection& c, io::IoWait wait);
  void drive(uint64_t token, Connection& c, Instant now);
  // false: nothing to answer yet, or the connection is gone (closed, or now a stream).
  bool read_request(uint64_t token, Connection& c, Instant now);
  void drain(uint64_t token, Connection& c);
  void expire(Instant now);
  void sweep_expired();

  control::Store& store_;
  control::Api& api_;
  io::Poller poller_;
  io::SignalFd signals_;
  io::TcpListener listener_;
  std::optional<io::TlsContext> tls_;
  std::optional<int64_t> peer_expiry_s_;
  std::map<uint64_t, std::unique_ptr<Connection>> conns_;
  StreamSet streams_;
  uint64_t next_token_;
  bool accepting_ = true;
  // The store's change socket as registered with the poller. A PostgreSQL store that
  // reconnected has a new socket, perhaps under the old number (the kernel dropped the
  // closed one from epoll), so it is compared every round and re-added every poll.
  int watched_change_fd_ = -1;
};

}  // namespace tern::cli

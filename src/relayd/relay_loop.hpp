// The event loop of `tern relay`: one thread, one epoll set holding the UDP
// listeners, the TCP and TLS listeners and their connections (stream_server.hpp),
// one UDP socket per allocation, the signal fd and the metrics endpoint. Every UDP
// socket is read in batches (recvmmsg); what the core answers is gathered per
// sending socket and written in batches (sendmmsg), or on the connection of the
// 5-tuple for TCP/TLS. Buffers are allocated once at start (a connection's when it
// arrives), so relaying a packet allocates nothing.
#pragma once

#include <memory>

#include "base/result.hpp"
#include "relayd/options.hpp"

namespace tern::relayd {

class RelayDaemon {
 public:
  // Binds every listener, the metrics endpoint and the signal fd; fails naming
  // the option whose address cannot be used.
  [[nodiscard]] static Result<std::unique_ptr<RelayDaemon>> start(const RelaydConfig& config);
  ~RelayDaemon();
  RelayDaemon(const RelayDaemon&) = delete;
  RelayDaemon& operator=(const RelayDaemon&) = delete;

  // Runs until SIGINT or SIGTERM; every allocation's socket is closed on return.
  [[nodiscard]] Status run();

  struct State;

 private:
  explicit RelayDaemon(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

}  // namespace tern::relayd

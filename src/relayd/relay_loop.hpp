// One event loop of `tern relay`: one thread, one epoll set holding its UDP listeners (one
// socket of each listen address's SO_REUSEPORT group), its TCP and TLS listeners and their
// connections (stream_server.hpp), one UDP socket per allocation it made, and its own relay
// core. Loop 0 also holds the signal fd and the metrics endpoint. Every UDP socket is read in
// batches (recvmmsg); what the core answers is gathered per sending socket and written in
// batches (sendmmsg), or on the connection of the 5-tuple for TCP/TLS. Buffers are allocated
// once at start (a connection's when it arrives), so relaying a packet allocates nothing.
#pragma once

#include <memory>
#include <optional>
#include <vector>

#include "base/ip.hpp"
#include "base/result.hpp"
#include "io/signals.hpp"
#include "io/udp_socket.hpp"
#include "relayd/loop_shared.hpp"
#include "relayd/options.hpp"

namespace tern::relayd {

class TlsContext;

struct LoopSetup {
  size_t index = 0;  // 0: the loop with signals and metrics
  size_t loops = 1;
  std::vector<io::UdpSocket> listeners;  // one per config.listen entry, in that order
  // Where this loop's TCP and TLS listeners bind: config's, or loop 0's bound ports when
  // those were 0.
  std::vector<Endpoint> tcp_listen;
  std::vector<Endpoint> tls_listen;
  const TlsContext* tls = nullptr;
  io::SignalFd* signals = nullptr;  // loop 0
};

class RelayLoop {
 public:
  [[nodiscard]] static Result<std::unique_ptr<RelayLoop>> create(const RelaydConfig& config,
                                                                 LoopSetup setup,
                                                                 LoopShared& shared);
  ~RelayLoop();
  RelayLoop(const RelayLoop&) = delete;
  RelayLoop& operator=(const RelayLoop&) = delete;

  // Runs until the stop signal (loop 0: until SIGINT or SIGTERM, then it triggers the stop
  // signal itself); closes its TCP/TLS connections on return. Its allocations' sockets close
  // when the loop is destroyed.
  [[nodiscard]] Status run();

  const std::vector<Endpoint>& tcp_bound() const;
  const std::vector<Endpoint>& tls_bound() const;
  std::optional<uint16_t> metrics_port() const;
  size_t allocation_count() const;

  struct State;

 private:
  explicit RelayLoop(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

}  // namespace tern::relayd

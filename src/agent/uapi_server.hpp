// The WireGuard cross-platform userspace API on a unix socket
// (/var/run/wireguard/IFACE.sock), so stock `wg show` and `wg set` work against
// tern as they do against wireguard-go; plus tern's own "get=tern-status".
// The text protocol itself is parsed and written by uapi/ (sans-I/O); this
// class moves its bytes and applies requests to the running agent.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>

#include "agent/agent.hpp"
#include "agent/status.hpp"
#include "base/result.hpp"
#include "base/time.hpp"
#include "io/fd.hpp"
#include "io/unix_socket.hpp"
#include "uapi/request.hpp"

namespace tern::agent {

class UapiServer {
 public:
  [[nodiscard]] static Result<std::unique_ptr<UapiServer>> listen(const std::string& path);

  int listener_fd() const { return listener_.fd(); }
  void accept(Agent::State& s);
  // A connection's fd is ready.
  void handle(Agent::State& s, uint64_t token, Instant now);

 private:
  struct Connection {
    io::UniqueFd fd;
    uapi::RequestFramer framer;
  };

  explicit UapiServer(io::UnixListener listener) : listener_(std::move(listener)) {}
  void close(Agent::State& s, uint64_t token);
  // Answers one complete request; false when the connection should close.
  bool answer(Agent::State& s, Connection& c, const uapi::Request& request, Instant now);

  io::UnixListener listener_;
  std::unordered_map<uint64_t, Connection> connections_;
  uint64_t next_token_;
};

// The agent's status, as `tern status` shows it.
InterfaceStatus collect_status(Agent::State& s);

}  // namespace tern::agent

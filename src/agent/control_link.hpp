// An agent's connection to its tern control server, driven by the agent's one poller: no
// thread, no blocking call after the start. It registers with the setup key when it has no
// stream token, then holds GET /api/v1/stream (a WebSocket, docs/control.md) open: maps and
// deltas are applied to the device as they come (control/agent_map.hpp), its endpoints are
// reported, pings keep the connection honest. A lost connection is retried with backoff and
// jitter (1 s .. 60 s); meanwhile the data plane runs on the last map, saved on disk.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "agent/agent.hpp"
#include "agent/control_state.hpp"
#include "agent/status.hpp"
#include "base/result.hpp"
#include "base/time.hpp"

namespace tern::agent {

struct ControlOptions {
  std::string url;        // https://host:port (http:// for a loopback development server)
  std::string setup_key;  // tsk_...: needed only until the first registration
  std::string ca_file;    // trusted CA for the server's certificate; empty: the system's
  std::string name;       // the name registered for this machine; empty: none
};

class ControlLink {
 public:
  [[nodiscard]] static Result<std::unique_ptr<ControlLink>> create(const ControlOptions& options,
                                                                   ControlState state);
  ~ControlLink();

  // Brings up the cached map (addresses and peers) and starts the first connection.
  void start(Agent::State& s, Instant now, WallTime wall);
  // The control socket is ready (its poller token is kTokenControl).
  void on_ready(Agent::State& s, Instant now, WallTime wall);
  // Every loop iteration: deadlines, pings, retries.
  void on_timer(Agent::State& s, Instant now, WallTime wall);
  std::optional<Instant> poll_timeout() const;
  // A datagram on the WireGuard socket: true when it was a relay's STUN answer to this
  // machine's reflexive-address probe (consumed), false for everything else (the device's).
  [[nodiscard]] bool take_stun(const Endpoint& from, Bytes datagram, Instant now);

  ControlStatus status() const;
  const ControlState& state() const;

  struct Impl;

 private:
  explicit ControlLink(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace tern::agent

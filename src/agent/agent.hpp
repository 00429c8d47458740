// `tern up`: wires the sans-I/O device (core/) to a TUN interface, one UDP
// socket and the WireGuard UAPI socket, in one event loop. Setup creates the
// interface, its addresses, MTU and routes through netlink; teardown (SIGINT,
// SIGTERM) removes what setup created.
#pragma once

#include <memory>
#include <string>

#include "base/result.hpp"
#include "config/config.hpp"

namespace tern::agent {

class ControlLink;

struct AgentOptions {
  std::string interface_name;
  // Where the UAPI socket lives; `wg` looks in /var/run/wireguard.
  std::string socket_dir = "/var/run/wireguard";
};

class Agent {
 public:
  // Creates the interface and everything else; on failure undoes what it did. With
  // `control`, peers and addresses come from the control server's map (agent/control_link.hpp).
  [[nodiscard]] static Result<std::unique_ptr<Agent>> start(
      const config::InterfaceConfig& config, const AgentOptions& options,
      std::unique_ptr<ControlLink> control = nullptr);
  ~Agent();
  Agent(const Agent&) = delete;
  Agent& operator=(const Agent&) = delete;

  // Runs until SIGINT or SIGTERM; then tears down.
  [[nodiscard]] Status run();

  struct State;  // opaque: sockets, device, buffers

 private:
  explicit Agent(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

}  // namespace tern::agent

// How far the agent's path MTU search may go: the MTU of the largest interface that can
// carry the tunnel's datagrams (9000 on a jumbo link, not a fixed 1500). Read from the kernel
// at start and again when a peer's endpoint moves; the decision is core::underlay_max_path_mtu.
#pragma once

#include "agent/agent.hpp"

namespace tern::agent {

// Sets the device's largest path MTU from the host's interfaces (the tunnel's own excluded);
// leaves it as it was when they cannot be read.
void refresh_max_path_mtu(Agent::State& s);

}  // namespace tern::agent

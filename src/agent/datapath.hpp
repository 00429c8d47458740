// The agent's packet pumps: TUN -> device -> UDP and UDP -> device -> TUN, a
// batch at a time, with buffers allocated once and every failure counted.
#pragma once

#include "agent/agent.hpp"
#include "base/time.hpp"

namespace tern::agent {

// Reads what the TUN has (a few batches at most), encrypts and sends it.
void pump_tun(Agent::State& s, Instant now);
// Receives what the socket has (a few batches at most), decrypts it, writes to the TUN.
void pump_udp(Agent::State& s, Instant now);
// Sends whatever the device wants to send on its own (handshakes, keepalives, ...).
void flush_transmits(Agent::State& s, Instant now);
// Allocates the batch buffers for the interface MTU.
void init_datapath(Agent::State& s);

}  // namespace tern::agent

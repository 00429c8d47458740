// Turns the device's events into log lines an operator can act on.
#pragma once

#include "agent/agent.hpp"

namespace tern::agent {

void log_device_events(Agent::State& s);

}  // namespace tern::agent

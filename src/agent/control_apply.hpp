// Applying a network map to the running agent: the device's peers (only what changed), the
// interface's overlay addresses with the pool's prefix lengths (so the kernel routes the
// whole overlay into the tunnel and the device picks the peer by its /32 or /128), and the
// map saved in the state directory. Internal to agent/.
#pragma once

#include <vector>

#include "agent/agent_state.hpp"
#include "base/ip.hpp"
#include "control/agent_map.hpp"

namespace tern::agent {

// The interface addresses a map asks for: self's IPv4 in the v4 pool's length, IPv6 in v6's.
[[nodiscard]] std::vector<IpPrefix> overlay_addresses(const control::NetworkMap& map);

// How the interface gets from the addresses it has to those a map asks for. A machine the
// admin re-addressed, or whose server's pool changed, loses the old address before it gets
// the new one: with two IPv4 addresses in one prefix, removing the first (primary) one would
// take the second with it. The prefix routes follow their addresses; peers are untouched.
struct AddressPlan {
  std::vector<IpPrefix> remove;
  std::vector<IpPrefix> add;
};
[[nodiscard]] AddressPlan plan_addresses(const std::vector<IpPrefix>& applied,
                                         const std::vector<IpPrefix>& wanted);

// Brings the interface's overlay addresses to the map's (plan_addresses, keeping `applied`
// current), then applies the peer changes. Failures are logged: a half-applied map is
// better than none.
void apply_map(Agent::State& s, const control::NetworkMap& map,
               const std::vector<control::PeerChange>& changes, std::vector<IpPrefix>& applied,
               Instant now);

// A peer added from a map greets the others with a handshake at once; when both sides add
// each other at the same moment, each greeting can arrive before the other side knows the
// sender, and WireGuard would retry only after 5 s. For a peer still without a handshake a
// moment later, a fresh device peer (same settings) sends a new initiation now.
void renew_handshake(Agent::State& s, const crypto::Key& key, Instant now);

}  // namespace tern::agent

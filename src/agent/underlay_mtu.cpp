#include "agent/underlay_mtu.hpp"

#include <vector>

#include "agent/agent_state.hpp"
#include "base/log.hpp"
#include "core/pmtud.hpp"
#include "io/link_mtus.hpp"

namespace tern::agent {

void refresh_max_path_mtu(Agent::State& s) {
  auto links = io::list_link_mtus();
  if (!links) {
    log::debug("interface MTUs: {}", links.error().message);
    return;
  }
  std::vector<core::UnderlayLink> underlay;
  underlay.reserve(links->size());
  for (const io::LinkMtu& l : *links) {
    underlay.push_back({l.mtu, l.up, l.loopback, l.name == s.name});
  }
  const size_t max = core::underlay_max_path_mtu(underlay, s.device.max_path_mtu());
  if (max != s.device.max_path_mtu()) log::debug("path MTU search: up to {}", max);
  s.device.set_max_path_mtu(max);
}

}  // namespace tern::agent

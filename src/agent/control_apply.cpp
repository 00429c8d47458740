#include "agent/control_apply.hpp"

#include <algorithm>

#include "base/log.hpp"

namespace tern::agent {

std::vector<IpPrefix> overlay_addresses(const control::NetworkMap& map) {
  std::vector<IpPrefix> out;
  if (map.self.ipv4.is_v4() && !map.self.ipv4.is_unspecified()) {
    out.push_back(IpPrefix{map.self.ipv4, map.v4.length});
  }
  if (map.self.ipv6.is_v6() && !map.self.ipv6.is_unspecified()) {
    out.push_back(IpPrefix{map.self.ipv6, map.v6.length});
  }
  return out;
}

AddressPlan plan_addresses(const std::vector<IpPrefix>& applied,
                           const std::vector<IpPrefix>& wanted) {
  auto has = [](const std::vector<IpPrefix>& list, const IpPrefix& p) {
    return std::find(list.begin(), list.end(), p) != list.end();
  };
  AddressPlan plan;
  for (const auto& a : applied)
    if (!has(wanted, a) && !has(plan.remove, a)) plan.remove.push_back(a);
  for (const auto& w : wanted)
    if (!has(applied, w) && !has(plan.add, w)) plan.add.push_back(w);
  return plan;
}

void apply_map(Agent::State& s, const control::NetworkMap& map,
               const std::vector<control::PeerChange>& changes, std::vector<IpPrefix>& applied,
               Instant now) {
  const AddressPlan plan = plan_addresses(applied, overlay_addresses(map));
  for (const auto& a : plan.remove) {
    if (auto st = s.netlink.delete_address(s.ifindex, a); !st) {
      log::warn("control: cannot remove the old address {} from {}: {}", a.to_string(), s.name,
                st.error().message);
      continue;  // still there: tried again with the next map
    }
    log::info("control: {} no longer has overlay address {}", s.name, a.to_string());
    std::erase(applied, a);
  }
  for (const auto& a : plan.add) {
    if (auto st = s.netlink.add_address(s.ifindex, a); !st) {
      log::warn("control: cannot add address {} to {}: {}", a.to_string(), s.name,
                st.error().message);
      continue;
    }
    log::info("control: {} has overlay address {}", s.name, a.to_string());
    applied.push_back(a);
  }
  size_t added = 0, removed = 0, updated = 0;
  for (const auto& c : changes) {
    using Kind = control::PeerChange::Kind;
    (c.kind == Kind::kAdd ? added : c.kind == Kind::kRemove ? removed : updated) += 1;
  }
  control::apply_changes(s.device, changes, now);
  if (!changes.empty()) {
    log::info("control: map revision {}: {} peer(s), {} added, {} removed, {} updated",
              map.revision, map.peers.size(), added, removed, updated);
  }
}

void renew_handshake(Agent::State& s, const crypto::Key& key, Instant now) {
  auto id = s.device.find_peer(key);
  if (!id) return;
  auto info = s.device.peer_info(*id);
  if (!info || info->last_handshake || !info->endpoint) return;
  s.device.remove_peer(*id);
  auto fresh = s.device.add_peer(key);
  if (!fresh) return;
  for (const auto& prefix : info->allowed_ips)
    s.device.add_allowed_ip(*fresh, prefix);
  s.device.set_endpoint(*fresh, *info->endpoint);
  s.device.set_persistent_keepalive(*fresh, info->persistent_keepalive, now);
}

}  // namespace tern::agent

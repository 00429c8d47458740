#include "agent/routing.hpp"

#include <algorithm>

#include "agent/agent_state.hpp"
#include "base/log.hpp"
#include "io/sysctl.hpp"

namespace tern::agent {
namespace {

using Family = IpAddress::Family;
using Mode = config::RouteTable::Mode;

constexpr char kSrcValidMark[] = "net.ipv4.conf.all.src_valid_mark";

const char* family_name(Family f) {
  return f == Family::kV4 ? "IPv4" : "IPv6";
}

}  // namespace

FullTunnel full_tunnel_families(const config::InterfaceConfig& config) {
  FullTunnel full;
  if (config.table.mode != Mode::kAuto) return full;
  for (const auto& peer : config.peers) {
    for (const auto& prefix : peer.allowed_ips) {
      if (prefix.length != 0) continue;
      (prefix.address.is_v4() ? full.v4 : full.v6) = true;
    }
  }
  return full;
}

Result<uint32_t> choose_policy_table(uint32_t fwmark, const std::vector<uint32_t>& tables_in_use) {
  if (fwmark != 0) return fwmark;
  for (uint64_t t = kFirstPolicyTable; t <= UINT32_MAX; ++t) {
    if (std::find(tables_in_use.begin(), tables_in_use.end(), t) == tables_in_use.end()) {
      return static_cast<uint32_t>(t);
    }
  }
  return fail("every routing table from 51820 up holds routes; set FwMark = N to choose one");
}

RoutePlan plan_routes(const config::InterfaceConfig& config, uint32_t policy_table) {
  RoutePlan plan;
  plan.fwmark = config.fwmark;
  if (config.table.mode == Mode::kOff) return plan;
  const FullTunnel full = full_tunnel_families(config);
  if (full.any()) plan.fwmark = policy_table;

  for (const auto& peer : config.peers) {
    for (const auto& p : peer.allowed_ips) {
      const IpPrefix prefix = p.masked();
      uint32_t table = io::kMainTable;
      if (config.table.mode == Mode::kFixed) {
        table = config.table.id;
      } else if (prefix.length == 0) {
        table = policy_table;
      }
      RoutePlan::Route route{prefix, table};
      if (std::find(plan.routes.begin(), plan.routes.end(), route) == plan.routes.end()) {
        plan.routes.push_back(route);
      }
    }
  }
  std::stable_sort(plan.routes.begin(), plan.routes.end(),
                   [](const auto& a, const auto& b) { return a.prefix.length > b.prefix.length; });

  for (Family f : {Family::kV4, Family::kV6}) {
    if (!(f == Family::kV4 ? full.v4 : full.v6)) continue;
    // Added in this order, the suppress rule gets the lower priority and is consulted first:
    // everything the main table routes more specifically than its default route stays there.
    plan.rules.push_back(io::RoutingRule::unless_marked(f, policy_table, policy_table));
    plan.rules.push_back(io::RoutingRule::suppressing(f, io::kMainTable, 0));
  }
  // Reverse-path filtering must see the mark, or the answers to marked packets look spoofed.
  plan.src_valid_mark = full.v4;
  return plan;
}

Result<std::unique_ptr<PolicyRules>> PolicyRules::open() {
  auto netlink = io::Netlink::open();
  if (!netlink) return fail(netlink.error().message);
  return std::unique_ptr<PolicyRules>(new PolicyRules(std::move(*netlink)));
}

PolicyRules::~PolicyRules() {
  for (auto it = added_.rbegin(); it != added_.rend(); ++it) {
    if (auto st = netlink_.delete_rule(*it); !st) {
      log::warn("{}; remove the rule with `ip rule del`", st.error().message);
    } else {
      log::debug("removed {}", it->to_string());
    }
  }
}

Status PolicyRules::add(const io::RoutingRule& rule) {
  auto added = netlink_.add_rule(rule);
  if (!added) return fail(added.error().message);
  added_.push_back(*added);
  return {};
}

Status install_routes(Agent::State& s, const config::InterfaceConfig& config) {
  const FullTunnel full = full_tunnel_families(config);
  uint32_t policy_table = 0;
  if (full.any()) {
    auto in_use = s.netlink.route_tables();
    if (!in_use) return fail(in_use.error().message);
    auto table = choose_policy_table(config.fwmark, *in_use);
    if (!table) return fail(table.error().message);
    policy_table = *table;
  }
  const RoutePlan plan = plan_routes(config, policy_table);

  if (plan.fwmark != 0) {
    if (auto st = s.udp.set_mark(plan.fwmark); !st) return st;
  }
  s.fwmark = plan.fwmark;
  if (!plan.rules.empty()) {
    auto rules = PolicyRules::open();
    if (!rules) return fail(rules.error().message);
    s.policy_rules = std::move(*rules);
    for (const auto& rule : plan.rules) {
      if (auto st = s.policy_rules->add(rule); !st) return st;
    }
  }
  for (const auto& route : plan.routes) {
    if (auto st = s.netlink.add_route(s.ifindex, route.prefix, route.table); !st) return st;
  }
  for (Family f : {Family::kV4, Family::kV6}) {
    if (!(f == Family::kV4 ? full.v4 : full.v6)) continue;
    log::info(
        "{}: all {} traffic goes through {}: its default route is in table {}, and the tunnel's "
        "own packets carry fwmark {:#x} so they bypass it",
        s.name, family_name(f), s.name, policy_table, plan.fwmark);
  }
  if (plan.src_valid_mark) {
    auto current = io::read_sysctl(kSrcValidMark);
    if (!current || *current != "1") {
      if (auto st = io::write_sysctl(kSrcValidMark, "1"); !st) {
        log::warn(
            "{}; where reverse-path filtering is strict (rp_filter = 1) the tunnel's incoming "
            "packets may be dropped",
            st.error().message);
      }
    }
  }
  return {};
}

}  // namespace tern::agent

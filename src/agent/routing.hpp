// Routes for AllowedIPs, installed as wg-quick installs them (wg-quick(8), add_route and
// add_default). Each prefix gets a route to the interface in the main table. A /0 (a full
// tunnel) would also catch the tunnel's own UDP packets, so it goes to a table T of its own,
// selected per family by the rules `not fwmark T table T` and
// `table main suppress_prefixlength 0`, and the UDP socket marks its packets with T: they
// skip table T and leave through the underlay. `Table = off` adds no routes; `Table = N`
// puts every route, /0 included, in table N and adds no rules.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "agent/agent.hpp"
#include "base/ip.hpp"
#include "base/result.hpp"
#include "config/config.hpp"
#include "io/netlink.hpp"

namespace tern::agent {

// wg-quick's first choice for the policy table and the mark (0xca6c).
inline constexpr uint32_t kFirstPolicyTable = 51820;

// The families whose /0 needs policy routing: those with a /0 in some peer's AllowedIPs,
// under `Table = auto`.
struct FullTunnel {
  bool v4 = false;
  bool v6 = false;
  bool any() const { return v4 || v6; }
  bool operator==(const FullTunnel&) const = default;
};
[[nodiscard]] FullTunnel full_tunnel_families(const config::InterfaceConfig& config);

// The table (and mark) for the policy: the FwMark when set, as wg-quick reuses `wg show
// fwmark`; else the first table from 51820 up that holds no route.
[[nodiscard]] Result<uint32_t> choose_policy_table(uint32_t fwmark,
                                                   const std::vector<uint32_t>& tables_in_use);

struct RoutePlan {
  struct Route {
    IpPrefix prefix;  // host bits cleared
    uint32_t table = io::kMainTable;
    bool operator==(const Route&) const = default;
  };
  std::vector<Route> routes;           // each prefix once, longest first, as wg-quick adds them
  std::vector<io::RoutingRule> rules;  // in the order to add them
  uint32_t fwmark = 0;                 // the UDP socket's mark; 0: unmarked
  bool src_valid_mark = false;         // an IPv4 full tunnel: net.ipv4.conf.all.src_valid_mark=1
};

// What to install; `policy_table` matters only when full_tunnel_families(config).any().
[[nodiscard]] RoutePlan plan_routes(const config::InterfaceConfig& config, uint32_t policy_table);

// The rules added for a full tunnel. Routes vanish with the interface; rules do not, so these
// are deleted, newest first, when this is destroyed: on SIGINT/SIGTERM and after a failed
// start alike.
class PolicyRules {
 public:
  [[nodiscard]] static Result<std::unique_ptr<PolicyRules>> open();
  ~PolicyRules();
  PolicyRules(const PolicyRules&) = delete;
  PolicyRules& operator=(const PolicyRules&) = delete;

  [[nodiscard]] Status add(const io::RoutingRule& rule);
  const std::vector<io::RoutingRule>& added() const { return added_; }

 private:
  explicit PolicyRules(io::Netlink netlink) : netlink_(std::move(netlink)) {}
  io::Netlink netlink_;
  std::vector<io::RoutingRule> added_;  // as the kernel reported them, with their priority
};

// Applies the routing of `config` to the interface of `s`: picks the policy table, marks the
// UDP socket, adds rules (kept in s.policy_rules), routes and src_valid_mark.
[[nodiscard]] Status install_routes(Agent::State& s, const config::InterfaceConfig& config);

}  // namespace tern::agent

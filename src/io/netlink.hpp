// Configuring the TUN interface over rtnetlink (libmnl): link state, MTU, addresses, routes
// in any table, and the policy-routing rules of a full tunnel. Each call sends one request and
// waits for its answer, so an error names what failed. Works in whatever network namespace
// the process is in.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/ip.hpp"
#include "base/result.hpp"

namespace tern::io {

inline constexpr uint32_t kMainTable = 254;  // RT_TABLE_MAIN, `ip route`'s default

// A policy-routing rule (`ip rule`) that sends matching packets to a table. tern adds the two
// shapes wg-quick adds for a full tunnel: `not fwmark T table T` and
// `table main suppress_prefixlength 0`.
struct RoutingRule {
  IpAddress::Family family = IpAddress::Family::kV4;
  uint32_t table = kMainTable;
  std::optional<uint32_t> fwmark;  // match packets with this mark (all 32 bits)
  bool invert = false;             // `not`: match what the selectors do not
  // Ignore a route found in `table` whose prefix is this long or shorter (0: the default route).
  std::optional<uint32_t> suppress_prefixlength;
  // None when adding: the kernel picks the one just above the first rule after `local`, as
  // `ip rule add` without `pref` does, so later rules come first. add_rule fills it in; a
  // deletion with a priority removes only the rule at that priority.
  std::optional<uint32_t> priority;

  // `not fwmark MARK table TABLE`
  static RoutingRule unless_marked(IpAddress::Family f, uint32_t mark, uint32_t table) {
    RoutingRule r;
    r.family = f;
    r.table = table;
    r.fwmark = mark;
    r.invert = true;
    return r;
  }
  // `table TABLE suppress_prefixlength LENGTH`
  static RoutingRule suppressing(IpAddress::Family f, uint32_t table, uint32_t length) {
    RoutingRule r;
    r.family = f;
    r.table = table;
    r.suppress_prefixlength = length;
    return r;
  }

  // As `ip rule` writes it, with the family: "IPv4 rule `not fwmark 0xca6c lookup 51820`".
  std::string to_string() const;
  bool operator==(const RoutingRule&) const = default;
};

class Netlink {
 public:
  [[nodiscard]] static Result<Netlink> open();
  ~Netlink();
  Netlink(Netlink&&) noexcept;
  Netlink& operator=(Netlink&&) noexcept;

  [[nodiscard]] Result<int> link_index(const std::string& ifname);
  [[nodiscard]] Status set_mtu(int ifindex, uint32_t mtu);
  [[nodiscard]] Status set_up(int ifindex);
  // IPv6 addresses get IFA_F_NODAD, so they are usable at once. Adding an address the
  // interface already has is not an error.
  [[nodiscard]] Status add_address(int ifindex, const IpPrefix& prefix);
  // Deletes `prefix` (address and prefix length) from the interface, as when a control server
  // re-addresses an agent; with it goes the prefix route the kernel added for it. An address
  // the interface does not have is not an error.
  [[nodiscard]] Status delete_address(int ifindex, const IpPrefix& prefix);
  // A route to dst (host bits cleared) through the interface, in `table`: scope link,
  // RTPROT_BOOT. An identical existing route is not an error.
  [[nodiscard]] Status add_route(int ifindex, const IpPrefix& dst, uint32_t table = kMainTable);
  // Deleting a route that does not exist is not an error.
  [[nodiscard]] Status delete_route(int ifindex, const IpPrefix& dst, uint32_t table = kMainTable);
  [[nodiscard]] Status delete_link(int ifindex);
  // The ids of the routing tables that hold at least one route, any family, sorted.
  [[nodiscard]] Result<std::vector<uint32_t>> route_tables();

  // Adds the rule and returns it as the kernel installed it (with its priority, when the
  // kernel reports it). The kernel adds a duplicate of an existing rule without complaint.
  [[nodiscard]] Result<RoutingRule> add_rule(const RoutingRule& rule);
  // Deletes the first rule matching `rule` (and its priority, if set); a missing rule is not
  // an error.
  [[nodiscard]] Status delete_rule(const RoutingRule& rule);

 private:
  struct Impl;
  explicit Netlink(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace tern::io

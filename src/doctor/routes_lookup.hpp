// The kernel's route lookup for a locally sent packet, replayed on a NetState: policy rules in
// priority order (fwmark/mask, `not`, to/from, iif lo, suppress_prefixlength, goto,
// blackhole/unreachable/prohibit), then the longest prefix in the table, the lowest metric
// among equals, `throw` moving on to the next rule. What `ip route get ADDR mark M` answers,
// without asking the kernel, so the doctor can ask it of every overlay prefix.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "doctor/routes_types.hpp"

namespace tern::doctor {

struct RouteLookup {
  const NetRoute* route = nullptr;        // where the lookup ended; nullptr: nowhere
  std::optional<uint32_t> rule_priority;  // the rule that led there
  std::optional<RuleAction> refused;      // a blackhole/unreachable/prohibit rule ended it
};

// The best route for `dst` in one table (nullptr: none).
[[nodiscard]] const NetRoute* lookup_table(const NetState& net, uint32_t table,
                                           const IpAddress& dst);
// The route a packet to `dst` carrying `fwmark` takes from source `src` (rules with `from
// PREFIX` match only a known source). Without rules of dst's family in `net`, the kernel's
// defaults (local, main, default).
[[nodiscard]] RouteLookup lookup_route(const NetState& net, const IpAddress& dst, uint32_t fwmark,
                                       const std::optional<IpAddress>& src = std::nullopt);
// What an unbound socket gets (ip_route_connect): a lookup without a source picks the source
// (the first address of its family on the interface it ends on), then a second lookup with that
// source decides, so `from PREFIX` rules apply to the source the kernel chose.
[[nodiscard]] RouteLookup lookup_route_unbound(const NetState& net, const IpAddress& dst,
                                               uint32_t fwmark);
// The first address of `family` on interface `ifindex`.
[[nodiscard]] std::optional<IpAddress> address_on(const NetState& net, uint32_t ifindex,
                                                  IpAddress::Family family);

// "10.0.0.0/24 via 192.0.2.1 dev eth0 table 51820 metric 100", as `ip route` would say it.
[[nodiscard]] std::string describe_route(const NetState& net, const NetRoute& route);
// The interface a lookup ends on, if it ends on a unicast route.
[[nodiscard]] std::optional<uint32_t> lookup_oif(const RouteLookup& lookup);

}  // namespace tern::doctor

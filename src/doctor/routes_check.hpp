// `tern doctor routes`' judgement, sans I/O: a WireGuard interface's overlay prefixes (its
// addresses and every peer's allowed IPs) against the machine's other addresses, routes of
// every table, policy rules, rp_filter settings and inbound firewall rules. Each finding has
// a stable code (docs/doctor-routes.md), the objects it concerns, and one sentence with the
// cause and the fix. A healthy setup gets none: false alarms are defects too.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "doctor/routes_nft.hpp"
#include "doctor/routes_types.hpp"

namespace tern::doctor {

struct RoutesFinding {
  std::string code;                  // "route_overlap_lan", "route_stolen", "endpoint_via_tunnel",
                                     // "rp_filter_strict", "firewall_drops_port"
  std::string message;               // the cause and the fix, one sentence
  std::vector<std::string> objects;  // interfaces, prefixes, routes, rules it is about
};

struct RoutesCheckInput {
  NetState net;
  std::vector<WgInterfaceRoutes> interfaces;
  std::optional<int> rp_filter_all;             // net.ipv4.conf.all.rp_filter
  std::map<std::string, int> rp_filter;         // net.ipv4.conf.IFACE.rp_filter
  std::optional<std::vector<NftPortRule>> nft;  // nullopt: the ruleset was not read
};

struct RoutesInterfaceReport {
  std::string name;
  uint16_t listen_port = 0;
  uint32_t fwmark = 0;
  std::vector<IpPrefix> overlay;  // the prefixes checked
  std::vector<RoutesFinding> findings;
  std::string error;  // the interface could not be read
};

struct RoutesReport {
  std::vector<RoutesInterfaceReport> interfaces;
  std::vector<std::string> notes;  // parts that could not run: why, and what to run instead
  std::string error;               // nothing could run
};

// An allowed IP this short is a full tunnel (0.0.0.0/0, or the /1 halves): it covers the LAN on
// purpose, and the LAN's more specific routes keep it outside.
inline constexpr uint8_t kFullTunnelLength = 1;

[[nodiscard]] RoutesInterfaceReport check_routes_interface(const RoutesCheckInput& input,
                                                           const WgInterfaceRoutes& wg);
[[nodiscard]] RoutesReport check_routes(const RoutesCheckInput& input);

[[nodiscard]] bool has_findings(const RoutesReport& report);
[[nodiscard]] std::string render_routes_human(const RoutesReport& report);
[[nodiscard]] nlohmann::json routes_to_json(const RoutesReport& report);

}  // namespace tern::doctor

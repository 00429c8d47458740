// `tern doctor routes`' I/O: finds the WireGuard interfaces (UAPI sockets, kernel ones by
// their sysfs device type), reads each one's peers, dumps links, addresses, routes and rules
// over rtnetlink, reads rp_filter and the nftables ruleset (`nft -j list ruleset`), and hands
// the lot to check_routes. It only reads.
#pragma once

#include <optional>
#include <string>

#include "doctor/relay_check.hpp"
#include "doctor/routes_check.hpp"

namespace tern::doctor {

struct RoutesOptions {
  std::optional<std::string> ifname;  // nullopt: every WireGuard interface
  bool firewall = true;               // read the nftables ruleset
  std::string uapi_dir = "/var/run/wireguard";
  std::string sysfs_net = "/sys/class/net";
};

// Parts that cannot run (no nft, no root for the ruleset) are told in `notes`; an interface
// that cannot be read has its `error`; `error` is set when the rtnetlink dumps fail.
[[nodiscard]] RoutesReport run_routes_check(const RoutesOptions& options,
                                            const Progress& progress = {});

// Reads the machine's links, addresses, routes (all tables) and rules through rtnetlink.
[[nodiscard]] Result<NetState> read_net_state();

}  // namespace tern::doctor

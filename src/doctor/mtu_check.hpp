// `tern doctor mtu`: measures a path's MTU with DF pings and sets it against what the kernel
// believes (its PMTUD cache) and, for a tern peer, against what the agent reports and what the
// tunnel itself carries. The measurement is df_ping.hpp; the judgement is analyze()
// (mtu_report.hpp); this file runs one and then the other.
#pragma once

#include <optional>
#include <string>

#include "base/result.hpp"
#include "base/time.hpp"
#include "doctor/df_ping.hpp"
#include "doctor/mtu_report.hpp"

namespace tern::doctor {

struct MtuCheckOptions {
  std::string device;              // host mode: probe through this interface
  std::optional<size_t> max_size;  // default: the outgoing interface's MTU
  unsigned tries = 3;
  Duration probe_timeout = std::chrono::seconds(1);
  Duration budget = std::chrono::seconds(6);  // per path measured
};

// A numeric address, or a name resolved with the system resolver (first address).
[[nodiscard]] Result<IpAddress> resolve_host(const std::string& name);

// A WireGuard or TUN interface (no link layer): probes forced through it measure a tunnel.
bool is_tunnel(const std::string& device);

// HOST: the path to `address`; through `options.device` when set (a tunnel's result is
// reported as the overlay).
[[nodiscard]] MtuReport check_mtu_host(const std::string& target, const IpAddress& address,
                                       const MtuCheckOptions& options, const DfProgress& progress);

// PEER: its endpoint (underlay) and its overlay address through the tunnel interface.
[[nodiscard]] MtuReport check_mtu_peer(const std::string& target, const MtuPeer& peer,
                                       const MtuCheckOptions& options, const DfProgress& progress);

}  // namespace tern::doctor

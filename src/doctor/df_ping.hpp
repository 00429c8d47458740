// The DF-ping runner: drives a DfSearch (df_ping_search.hpp) with ICMP echo on a real
// socket, IPv4 or IPv6. Probes leave with Don't Fragment and IP_PMTUDISC_PROBE, so neither
// the local stack nor the kernel's cached path MTU shrinks or refuses them: what comes back
// is what the path carries. Used by `tern doctor mtu` and `tern doctor wg` (through a tunnel
// interface with `device`).
//
// A raw ICMP socket (root or CAP_NET_RAW) sees every "fragmentation needed" / Packet Too Big
// about the probes; without it, a ping socket (net.ipv4.ping_group_range) reads them from
// its error queue. Either way the run ends within `budget` plus one probe timeout.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "base/ip.hpp"
#include "base/result.hpp"
#include "base/time.hpp"
#include "doctor/df_ping_icmp.hpp"
#include "doctor/df_ping_search.hpp"

namespace tern::doctor {

struct DfPingOptions {
  IpAddress target;
  std::string device;              // SO_BINDTODEVICE (a tunnel interface); empty: routing
  std::optional<size_t> max_size;  // default: the outgoing interface's MTU
  std::optional<size_t> min_size;  // default: 68 (IPv4) / 1280 (IPv6)
  unsigned tries = 3;
  Duration probe_timeout = std::chrono::seconds(1);
  Duration budget = std::chrono::seconds(8);
};

enum class PingSocketKind : uint8_t { kRaw, kPing };
std::string_view ping_socket_kind_name(PingSocketKind k);  // "raw", "ping"

struct DfPingResult {
  IpAddress target;
  DfSearchResult search;
  PingSocketKind socket_kind = PingSocketKind::kRaw;
  std::string interface_name;             // the outgoing interface, when known
  std::optional<uint32_t> interface_mtu;  // its MTU
  // The kernel's path MTU for the target (IP_MTU / IPV6_MTU of a connected socket) before and
  // after the probes: it only shrinks when a "too big" error reached this host.
  std::optional<uint32_t> kernel_pmtu_before;
  std::optional<uint32_t> kernel_pmtu_after;
  size_t min_size = 0;
  size_t max_size = 0;
  std::string send_error;  // the first send that failed other than with EMSGSIZE
  std::array<uint64_t, kIcmpDropCount> drops{};  // received datagrams not used, by reason
};

// A line of progress ("probing 192.0.2.1: 1280..1500 open ...").
using DfProgress = std::function<void(std::string_view)>;

// Fails only when no socket can be opened or the options make no sense; an unreachable
// target is a result (nothing answered).
[[nodiscard]] Result<DfPingResult> run_df_ping(const DfPingOptions& options,
                                               const DfProgress& progress);

// The kernel's current path MTU towards `target` (through `device` when given), or nullopt.
std::optional<uint32_t> kernel_path_mtu(const IpAddress& target, const std::string& device);

}  // namespace tern::doctor

// What `tern doctor routes` knows of the machine's network, as plain values: interfaces,
// addresses, routes of every table and policy rules (read from rtnetlink dumps,
// doctor/routes_netlink.hpp), and the WireGuard interfaces whose overlay is checked against
// them. Built by hand in tests; nothing here touches the system.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/ip.hpp"
#include "crypto/key.hpp"

namespace tern::doctor {

inline constexpr uint32_t kTableLocal = 255;
inline constexpr uint32_t kTableMain = 254;
inline constexpr uint32_t kTableDefault = 253;

// rtm_type values (linux/rtnetlink.h).
enum class RouteKind : uint8_t {
  kUnspec = 0,
  kUnicast = 1,
  kLocal = 2,
  kBroadcast = 3,
  kAnycast = 4,
  kMulticast = 5,
  kBlackhole = 6,
  kUnreachable = 7,
  kProhibit = 8,
  kThrow = 9,
};

// fib_rule_hdr.action values (linux/fib_rules.h).
enum class RuleAction : uint8_t {
  kUnspec = 0,
  kToTable = 1,
  kGoto = 2,
  kNop = 3,
  kBlackhole = 6,
  kUnreachable = 7,
  kProhibit = 8,
};

struct NetLink {
  uint32_t index = 0;
  std::string name;
};

struct NetAddress {
  uint32_t ifindex = 0;
  IpPrefix prefix;  // the address with its prefix length, as `ip addr` shows it
};

struct NetRoute {
  uint32_t table = kTableMain;
  IpPrefix dst;  // masked; length 0 is the default route
  RouteKind kind = RouteKind::kUnicast;
  std::optional<uint32_t> oif;  // the first next hop's, for a multipath route
  std::optional<IpAddress> gateway;
  uint32_t metric = 0;
  uint8_t tos = 0;
  bool dead = false;  // RTNH_F_DEAD: the kernel skips it

  bool operator==(const NetRoute&) const = default;
};

struct NetRule {
  IpAddress::Family family = IpAddress::Family::kV4;
  uint32_t priority = 0;
  RuleAction action = RuleAction::kToTable;
  uint32_t table = kTableMain;
  std::optional<uint32_t> goto_target;
  std::optional<uint32_t> fwmark;
  std::optional<uint32_t> fwmask;  // absent: all 32 bits when fwmark is set
  bool invert = false;
  std::optional<uint32_t> suppress_prefixlength;
  std::optional<IpPrefix> src;
  std::optional<IpPrefix> dst;
  std::string iifname;
  std::string oifname;
  // Selectors a lookup here does not model (uid range, ip proto, ports, l3mdev, tos, realms):
  // such a rule is taken not to match.
  bool other_selectors = false;
};

struct NetState {
  std::vector<NetLink> links;
  std::vector<NetAddress> addresses;
  std::vector<NetRoute> routes;
  std::vector<NetRule> rules;  // as dumped; lookups sort them by priority

  // "if7" when the index is unknown.
  [[nodiscard]] std::string link_name(uint32_t index) const;
  [[nodiscard]] std::optional<uint32_t> link_index(const std::string& name) const;
};

struct WgPeerRoutes {
  crypto::Key public_key{};
  std::optional<Endpoint> endpoint;
  std::vector<IpPrefix> allowed_ips;
};

struct WgInterfaceRoutes {
  std::string name;
  uint16_t listen_port = 0;
  uint32_t fwmark = 0;
  std::vector<WgPeerRoutes> peers;
};

}  // namespace tern::doctor

// The firewall part of `tern doctor routes`: reads `nft -j list ruleset` (nftables' JSON,
// libnftables-json(5); iptables-nft rules appear there too) and finds the rules that accept,
// drop or reject UDP by destination port in chains a packet for this host goes through
// (base chains hooked at prerouting, input or ingress, and the chains they jump to). Pure:
// the text comes from the caller; the parser is fuzzed, since the text is another program's.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/result.hpp"

namespace tern::doctor {

struct NftPortRule {
  std::string family;  // "ip", "ip6", "inet", "netdev"
  std::string table;
  std::string chain;
  std::optional<uint64_t> handle;
  std::string verdict;  // "accept", "drop" or "reject"
  // Destination port ranges matched (inclusive); nullopt: the rule drops all UDP.
  std::optional<std::vector<std::pair<uint16_t, uint16_t>>> ports;
  std::vector<std::string> conditions;  // other matches: "ip saddr", "iifname", ...
  std::optional<uint64_t> packets;      // its counter, if it has one
  size_t position = 0;                  // order within its chain
  std::string tool = "nftables";        // or "iptables-legacy" (routes_iptables.hpp)

  // "inet filter input (handle 7): udp dport 51820 drop"
  [[nodiscard]] std::string describe() const;
  [[nodiscard]] bool covers(uint16_t port) const;
};

// Every accept/drop/reject rule that looks at UDP's destination port (or drops all UDP without
// any other condition) in a chain on the way in. Fails only on text that is not nftables JSON.
[[nodiscard]] Result<std::vector<NftPortRule>> parse_nft_port_rules(std::string_view json_text);

// The drop/reject rules that hit `port`: in each chain, those before the first unconditional
// accept of the port.
[[nodiscard]] std::vector<NftPortRule> nft_drops_for_port(const std::vector<NftPortRule>& rules,
                                                          uint16_t port);

}  // namespace tern::doctor

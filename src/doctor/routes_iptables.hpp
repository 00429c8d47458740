// The iptables-legacy part of `tern doctor routes`' firewall check: rules loaded through the
// legacy (x_tables) interface do not show in `nft list ruleset`, so the doctor also reads
// `iptables-legacy-save -c` and `ip6tables-legacy-save -c` when they are installed. Their text
// becomes the same NftPortRule list the nftables parser yields (tool "iptables-legacy"): the
// accept/drop/reject rules on UDP's destination port in chains a packet for this host goes
// through (filter INPUT, raw and mangle PREROUTING, mangle INPUT, and the user chains they jump
// to), with the rule's packet counter. Pure and fuzzed: the text is another program's.
#pragma once

#include <string_view>
#include <vector>

#include "doctor/routes_nft.hpp"

namespace tern::doctor {

// `family` is "ip" (iptables) or "ip6" (ip6tables). Lines it cannot read are skipped: a rule it
// does not understand is never reported.
[[nodiscard]] std::vector<NftPortRule> parse_iptables_port_rules(std::string_view save_text,
                                                                 std::string_view family);

}  // namespace tern::doctor

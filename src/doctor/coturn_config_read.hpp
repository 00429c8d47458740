// The files behind `--coturn-config` and `--netbird-config`: the config text itself (bounded)
// and the TLS certificate coturn's cert= names, reduced to what the lint needs.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "base/result.hpp"
#include "doctor/coturn_config_lint.hpp"

namespace tern::doctor {

// The whole file, failing (with the path and the cause) beyond `max_bytes`.
[[nodiscard]] Result<std::string> read_text_file(const std::string& path, size_t max_bytes);

// This host's nftables drops of UDP to first..last (`nft -j list ruleset`); nullopt, with why
// in `note`, when the ruleset cannot be read (nft missing, not root).
[[nodiscard]] std::optional<std::vector<FirewallDrop>> read_firewall_drops(uint16_t first,
                                                                           uint16_t last,
                                                                           std::string& note);

// The first certificate in the PEM file `path` (coturn's cert=, often a fullchain).
[[nodiscard]] CertificateFile read_certificate_file(const std::string& path);

}  // namespace tern::doctor

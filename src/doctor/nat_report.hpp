// What `tern doctor nat` reports: the NAT's behaviour, the mapping lifetime and the keepalive
// that holds it, and the findings, each with a stable cause code (docs/doctor-nat.md), as a
// human report and as JSON. Exit status 1 when there is a finding.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "doctor/nat_types.hpp"

namespace tern::doctor {

struct NatReport {
  NatDiscoveryResult discovery;
  std::optional<LifetimeResult> lifetime;  // absent with --quick
  unsigned keepalive_in_use = 25;          // what the overlay sends (WireGuard's usual 25 s)
};

struct NatFinding {
  std::string code;     // "nat_symmetric", "nat_short_lifetime", "stun_unreachable", ...
  std::string message;  // one sentence: the cause and the fix
};

[[nodiscard]] std::vector<NatFinding> nat_findings(const NatReport& r);
[[nodiscard]] std::string render_nat_human(const NatReport& r);
[[nodiscard]] nlohmann::json nat_to_json(const NatReport& r);

}  // namespace tern::doctor

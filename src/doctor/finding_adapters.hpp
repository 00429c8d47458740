// Adapters from each check's own findings to the one findings model (finding.hpp): the code
// stays the check's own, so `tern doctor --json` and `tern doctor <check> --json` carry the
// same codes; the adapter adds the severity and the subject.
#pragma once

#include <vector>

#include "doctor/finding.hpp"
#include "doctor/mtu_report.hpp"
#include "doctor/nat_report.hpp"
#include "doctor/relay_report.hpp"
#include "doctor/routes_check.hpp"
#include "doctor/wg_check.hpp"

namespace tern::doctor {

// Per peer of every interface read.
[[nodiscard]] std::vector<Finding> findings_from_wg(const std::vector<WgInterfaceReport>& reports);

// The NAT in front of this host. With `per_peer_keepalives` the wg check has judged every
// peer's keepalive against the measured lifetime, so nat_short_lifetime (which assumes a
// 25 s keepalive) would only repeat it, or contradict a peer that already keeps up.
[[nodiscard]] std::vector<Finding> findings_from_nat(const NatReport& report,
                                                     bool per_peer_keepalives);

// One `tern doctor mtu` report; the subject is its target.
[[nodiscard]] std::vector<Finding> findings_from_mtu(const MtuReport& report);

// Each relay URL's findings (relay_findings.hpp: its codes, docs/doctor-relay.md).
[[nodiscard]] std::vector<Finding> findings_from_relay(const std::vector<RelayUrlResult>& results);

// Each interface's routes findings (docs/doctor-routes.md); the subject is the interface.
[[nodiscard]] std::vector<Finding> findings_from_routes(const RoutesReport& report);

}  // namespace tern::doctor

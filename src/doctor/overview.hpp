// `tern doctor` run alone: what every check that applied found, as one report. The checks run
// in cli/doctor_all*.cpp; assemble_overview() turns their results into the list of checks
// (each ran, or says why not and what to run instead) and one ordered list of findings
// (finding.hpp), rendered for people and as JSON (docs/doctor.md). Pure functions.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/result.hpp"
#include "base/time.hpp"
#include "doctor/finding.hpp"
#include "doctor/nat_report.hpp"
#include "doctor/relay_report.hpp"
#include "doctor/routes_check.hpp"
#include "doctor/wg_check.hpp"

namespace tern::doctor {

struct CheckRun {
  std::string name;  // "wg", "mtu", "nat", "nat_lifetime", "relay", "routes"
  bool ran = false;
  std::string skipped_because;  // why it did not run, and what to run instead
  std::string detail;           // what it looked at, or what part of it could not run
};

// What the checks brought back; a check that did not run has its reason instead.
struct OverviewInputs {
  std::optional<std::vector<WgInterfaceReport>> wg;  // nullopt: not run
  std::string wg_skipped;
  bool df_ping = true;                   // false: --no-ping
  std::optional<Result<NatReport>> nat;  // nullopt: not run (no STUN server known)
  std::string nat_skipped;
  std::string nat_lifetime_note;  // what the lifetime search found, for the wg check
  bool quick = false;
  std::optional<std::vector<RelayUrlResult>> relay;
  std::string relay_skipped;
  std::optional<RoutesReport> routes;  // nullopt: not run
  std::string routes_skipped;
  Duration elapsed{};
};

struct Overview {
  std::vector<CheckRun> checks;
  std::vector<Finding> findings;  // most likely cause first
  std::vector<std::string> notes;
  nlohmann::json details;  // each check's own JSON, as its subcommand prints it
  Duration elapsed{};

  int exit_status() const { return findings.empty() ? 0 : 1; }
};

[[nodiscard]] Overview assemble_overview(const OverviewInputs& in);
[[nodiscard]] std::string render_overview_human(const Overview& o);
// {"version": 1, "healthy", "findings": [...], "checks": [{name, ran, skipped_because, detail}],
//  "notes", "elapsed_s", "details": {"wg", "nat", "relay", "routes"}}
[[nodiscard]] nlohmann::json overview_to_json(const Overview& o);

}  // namespace tern::doctor

// `tern doctor` with no subcommand: every check that applies here, at once where they can
// overlap (the wg sampling window, the NAT lifetime search and the relay checks each run in
// their own thread), then one report (doctor/overview.hpp).
#pragma once

#include <string>
#include <vector>

#include "base/time.hpp"
#include "doctor/overview.hpp"
#include "doctor/relay_check.hpp"

namespace tern::cli {

struct DoctorAllOptions {
  std::vector<std::string> stun;    // stun:HOST[:PORT]; else the relays' UDP URLs
  std::vector<std::string> relays;  // turn:/turns:/stun: URLs
  doctor::RelayCheckOptions relay;
  Duration duration = std::chrono::seconds(20);      // the wg sampling window
  Duration lifetime_max = std::chrono::seconds(48);  // tells whether 25 s keepalives hold
  bool quick = false;
  bool df_ping = true;
  unsigned keepalive = 25;  // the NAT check's keepalive when no WireGuard peer is read
};

// Runs the checks; `progress` is called from several threads, one at a time.
[[nodiscard]] doctor::Overview run_doctor_all(const DoctorAllOptions& options,
                                              const doctor::Progress& progress);

}  // namespace tern::cli

// `tern doctor relay`: checks one TURN (or STUN) server over UDP, TCP or TLS, step by step,
// the way a tern agent would use it: resolve, reachability (TCP connect, STUN Binding), the
// TLS certificate (turns:), authentication and allocation (the core TURN client), a relayed
// echo to a second local socket standing in for a peer (RTT, jitter, loss), and the largest
// packet the relayed path carries (relayed data is UDP whatever carries the client's side).
// docs/doctor.md says what each check means and how to read a failure.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "base/time.hpp"
#include "core/turn_credentials.hpp"
#include "doctor/relay_report.hpp"
#include "doctor/turn_url.hpp"

namespace tern::doctor {

struct RelayCheckOptions {
  std::optional<core::TurnCredentials> credentials;  // a static user
  std::optional<std::string> secret;                 // or a TURN REST shared secret
  std::string rest_name = "tern-doctor";  // REST username: "expiry:rest_name" ("expiry" if empty)
  Duration rest_ttl = std::chrono::hours(1);
  Duration duration = std::chrono::seconds(10);  // of the round trip
  unsigned rate = 50;                            // probes per second
  size_t size = 1200;                            // probe payload bytes
  Duration largest_search_budget = std::chrono::seconds(8);
  // The round trip again at 4x and 16x the rate (3 steps in all; 1: only --rate), each for a
  // quarter of the duration (at least 1 s): loss that grows with the rate is a bandwidth cap.
  unsigned rate_steps = 3;
  // Ask the server with REST credentials of the doctor's own making (with `secret`, over UDP)
  // to place its clock: one more allocation.
  bool probe_server_clock = true;
  std::string ca_file;  // turns:: PEM CAs to trust instead of the system's
};

// A line of progress ("allocating on 192.0.2.1:3478 ...").
using Progress = std::function<void(std::string_view)>;

[[nodiscard]] RelayUrlResult check_relay(const TurnUrl& url, const RelayCheckOptions& options,
                                         const Progress& progress);

}  // namespace tern::doctor

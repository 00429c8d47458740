// Internal to doctor/: the state of one relay check while it runs, shared by the step
// files (relay_check.cpp: reachability and allocation; relay_echo.cpp: the relayed echo
// and the largest-packet search).
#pragma once

#include <functional>
#include <optional>

#include "core/turn_client.hpp"
#include "doctor/relay_check.hpp"
#include "doctor/relay_session.hpp"

namespace tern::doctor {

struct RelayRun {
  const TurnUrl& url;
  const RelayCheckOptions& options;
  const Progress& progress;
  RelayUrlResult& result;
  Endpoint server;
  RelaySession session;
  std::optional<core::TurnClient> client;
  Endpoint peer;               // the peer socket as the server sees it
  uint64_t peer_received = 0;  // datagrams the relay delivered to the peer socket
  // What step() hands on from the TURN client: its events and the relayed data.
  std::function<void(const core::TurnEvent&, Instant)> on_event;
  std::function<void(const Endpoint& peer, Bytes data, Instant)> on_data;

  void say(std::string_view line) const {
    if (progress) progress(line);
  }
  // Sends what the TURN client has queued for the server.
  void flush();
  // One turn of the loop: flush, wait until `deadline` or the client's timer, run timers.
  [[nodiscard]] bool step(Instant deadline);
};

// Both return false when a later step cannot run.
[[nodiscard]] bool run_round_trip(RelayRun& run);
void run_largest_packet(RelayRun& run);
// relay_rates.cpp: probes at 4x and 16x --rate after the round trip (RelayRun::result.rate_steps).
void run_rate_steps(RelayRun& run);

// relay_check.cpp: the TURN client's configuration for this URL and credentials.
[[nodiscard]] core::TurnConfig relay_turn_config(const TurnUrl& url, const Endpoint& server,
                                                 const core::TurnCredentials& credentials);
// relay_rest.cpp: REST credentials from options.secret, valid until `expiry_unix`; the username
// is "EXPIRY:rest_name", or "EXPIRY" alone when rest_name is empty (NetBird's form).
[[nodiscard]] core::TurnCredentials make_rest_credentials(const RelayCheckOptions& options,
                                                          int64_t expiry_unix);
// relay_rest.cpp: after the server accepted or refused `used`, the REST facts (result.rest)
// and, with the secret over UDP, one more allocation to place the server's clock.
void note_rest(RelayRun& run, const core::TurnCredentials& used, bool made_here, bool accepted);

}  // namespace tern::doctor

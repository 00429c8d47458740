// TURN REST credentials in the relay check: what the server made of them, and, when the doctor
// holds the shared secret, one more allocation on fresh sockets with credentials of its own
// making to place the server's clock (RestFacts in relay_report.hpp). A relay's clock cannot
// be read over STUN (coturn's nonce and errors carry no time), but its verdict on an expiry can.
#include <sodium.h>

#include <fmt/format.h>

#include "core/turn_credentials.hpp"
#include "crypto/hmac_sha.hpp"
#include "crypto/sodium.hpp"
#include "doctor/relay_findings.hpp"
#include "doctor/relay_fix.hpp"
#include "doctor/relay_run.hpp"
#include "io/clock.hpp"
#include "wire/stun_attributes.hpp"

namespace tern::doctor {
namespace {

constexpr Duration kProbeBudget = std::chrono::seconds(10);

int64_t wall_seconds() {
  return io::wall_now().unix_ns / 1'000'000'000;
}

// One Allocate with `credentials` from new sockets: true when the server allocated (the
// allocation is deleted again), false when it refused the credentials, nullopt otherwise.
std::optional<bool> try_credentials(const RelayRun& run, const core::TurnCredentials& credentials) {
  auto session = RelaySession::open(run.server);
  if (!session) return std::nullopt;
  RelayUrlResult scratch;
  RelayRun probe{run.url, run.options, Progress{}, scratch, run.server, std::move(*session),
                 {},      {},          0,          {},      {}};
  probe.client.emplace(relay_turn_config(run.url, run.server, credentials), io::monotonic_now());
  probe.client->set_wall_clock(io::wall_now(), io::monotonic_now());
  probe.session.on_client = [&probe](const Endpoint& from, Bytes data, Instant now) {
    if (from == probe.server) (void)probe.client->handle_input(data, now);
  };
  std::optional<bool> verdict;
  bool done = false;
  probe.on_event = [&](const core::TurnEvent& e, Instant) {
    if (std::holds_alternative<core::TurnAllocated>(e)) {
      verdict = true;
      done = true;
    } else if (auto* f = std::get_if<core::TurnFailed>(&e)) {
      if (is_authentication_error(f->error.kind)) verdict = false;
      done = true;
    }
  };
  const Instant deadline = io::monotonic_now() + kProbeBudget;
  while (!done && io::monotonic_now() < deadline) {
    if (!probe.step(deadline)) break;
  }
  if (verdict == true) {
    probe.on_event = nullptr;
    probe.client->close(io::monotonic_now());
    const Instant until = io::monotonic_now() + std::chrono::seconds(2);
    while (probe.client->state_name() == "closing" && io::monotonic_now() < until) {
      if (!probe.step(until)) break;
    }
  }
  return verdict;
}

}  // namespace

core::TurnCredentials make_rest_credentials(const RelayCheckOptions& options, int64_t expiry_unix) {
  const std::string secret = options.secret.value_or("");
  if (!options.rest_name.empty()) {
    return core::rest_credentials(secret, options.rest_name, expiry_unix);
  }
  core::TurnCredentials c;
  c.username = std::to_string(expiry_unix);
  const auto mac = crypto::hmac_sha1(wire::as_bytes(secret), {wire::as_bytes(c.username)});
  (void)crypto::ensure_sodium();
  std::array<char, sodium_base64_ENCODED_LEN(crypto::kSha1Size, sodium_base64_VARIANT_ORIGINAL)>
      text{};
  sodium_bin2base64(text.data(), text.size(), mac.data(), mac.size(),
                    sodium_base64_VARIANT_ORIGINAL);
  c.password = text.data();
  return c;
}

void note_rest(RelayRun& run, const core::TurnCredentials& used, bool made_here, bool accepted) {
  const auto expiry = core::rest_username_expiry(used.username);
  if (!expiry) return;
  RestFacts rest;
  rest.expiry_unix = *expiry;
  rest.local_unix = wall_seconds();
  rest.made_here = made_here;
  rest.accepted = accepted;
  const bool can_probe = made_here && run.options.secret && run.options.probe_server_clock &&
                         run.url.transport == UrlTransport::kUdp;
  if (can_probe) {
    const int64_t now = wall_seconds();
    if (accepted) {
      run.say("authentication: is the server's clock behind? (credentials expired 2 min ago)");
      rest.recently_expired_accepted =
          try_credentials(run, make_rest_credentials(run.options, now - kRestSkewProbeSeconds));
    } else {
      run.say("authentication: is the server's clock ahead? (credentials valid for 30 days)");
      rest.far_future_accepted =
          try_credentials(run, make_rest_credentials(run.options, now + kRestFarFutureSeconds));
    }
  }
  run.result.rest = rest;
}

}  // namespace tern::doctor

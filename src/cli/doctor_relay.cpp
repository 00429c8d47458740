// `tern doctor relay URL...`: checks TURN/STUN servers and prints what is wrong with each,
// with the fix (docs/doctor-relay.md); --coturn-config lints a turnserver.conf and
// --netbird-config takes the URLs and credentials from NetBird's management.json. Exit
// status: 0 when every URL passes with no finding, 1 otherwise, 2 for a usage error.
#include <unistd.h>

#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "cli/doctor.hpp"
#include "cli/doctor_common.hpp"
#include "doctor/coturn_config.hpp"
#include "doctor/coturn_config_lint.hpp"
#include "doctor/coturn_config_read.hpp"
#include "doctor/netbird_config.hpp"
#include "doctor/relay_check.hpp"
#include "doctor/relay_probe.hpp"
#include "doctor/turn_url.hpp"
#include "io/clock.hpp"

namespace tern::cli {
namespace {

struct DoctorRelayArgs {
  std::vector<std::string> urls;
  std::string user;
  std::string password;
  std::string secret;
  std::string ca_file;
  std::string duration = "10s";
  std::string rate = "50/s";
  std::string largest_search = "8s";
  std::string coturn_config;
  std::string netbird_config;
  unsigned rate_steps = 3;
  size_t size = 1200;
  bool json = false;
};

int usage_error(const std::string& message) {
  std::cerr << "tern doctor relay: " << message << "\n";
  return 2;
}

// One relay check per URL named and per server of the NetBird file, each with its credentials.
struct Planned {
  doctor::TurnUrl url;
  doctor::RelayCheckOptions options;
};

int64_t wall_seconds() {
  return io::wall_now().unix_ns / 1'000'000'000;
}

int run_doctor_relay(const DoctorRelayArgs& a, const std::vector<std::string>& extras) {
  if (!extras.empty()) return usage_error("unexpected argument '" + extras.front() + "'");
  if (a.urls.empty() && a.netbird_config.empty() && a.coturn_config.empty()) {
    return usage_error("name at least one URL, e.g. turn:relay.example.com (or --netbird-config)");
  }
  const bool static_user = !a.user.empty() || !a.password.empty();
  if (static_user && !a.secret.empty()) {
    return usage_error("give --user/--password or --secret, not both");
  }
  if (static_user && (a.user.empty() || a.password.empty())) {
    return usage_error("--user and --password go together");
  }
  doctor::RelayCheckOptions options;
  if (static_user) options.credentials = core::TurnCredentials{a.user, a.password};
  if (!a.secret.empty()) options.secret = a.secret;
  auto duration = parse_duration(a.duration);
  if (!duration) return usage_error("--duration '" + a.duration + "' is not like 10s or 500ms");
  options.duration = *duration;
  auto rate = parse_rate(a.rate);
  if (!rate) return usage_error("--rate '" + a.rate + "' is not like 50/s (1 to 10000)");
  options.rate = *rate;
  if (a.rate_steps < 1 || a.rate_steps > 3) return usage_error("--rate-steps is 1, 2 or 3");
  options.rate_steps = a.rate_steps;
  if (a.largest_search == "0") {
    options.largest_search_budget = Duration::zero();
  } else {
    auto budget = parse_duration(a.largest_search);
    if (!budget)
      return usage_error("--largest-search '" + a.largest_search + "' is not like 8s or 0");
    options.largest_search_budget = *budget;
  }
  if (a.size < doctor::kProbeHeaderSize || a.size > 65000) {
    return usage_error(
        fmt::format("--size {} is outside {}..65000", a.size, doctor::kProbeHeaderSize));
  }
  options.size = a.size;
  options.ca_file = a.ca_file;
  std::vector<Planned> plan;
  for (const auto& text : a.urls) {
    auto url = doctor::parse_turn_url(text);
    if (!url) return usage_error(url.error().message);
    plan.push_back({*url, options});
  }
  std::vector<doctor::RelayFinding> config_findings;
  std::optional<std::string> overlay_secret = options.secret;
  if (!a.netbird_config.empty()) {
    auto text = doctor::read_text_file(a.netbird_config, doctor::kNetbirdConfigMaxBytes);
    if (!text) return usage_error(text.error().message);
    auto config = doctor::parse_netbird_config(*text);
    if (!config) return usage_error(a.netbird_config + ": " + config.error().message);
    auto nb = doctor::plan_netbird_checks(*config);
    config_findings = nb.findings;
    if (!config->secret.empty() && config->time_based) overlay_secret = config->secret;
    for (const auto& t : nb.targets) {
      Planned p{t.url, options};
      p.options.credentials = t.credentials;
      p.options.secret = t.secret;
      if (t.secret) p.options.rest_name.clear();  // NetBird's usernames are the expiry alone
      if (t.rest_ttl && *t.rest_ttl > Duration::zero()) p.options.rest_ttl = *t.rest_ttl;
      plan.push_back(std::move(p));
    }
  }
  std::optional<doctor::CoturnConfig> coturn;
  if (!a.coturn_config.empty()) {
    auto text = doctor::read_text_file(a.coturn_config, doctor::kCoturnConfigMaxBytes);
    if (!text) return usage_error(text.error().message);
    auto config = doctor::parse_coturn_config(*text);
    if (!config) return usage_error(a.coturn_config + ": " + config.error().message);
    coturn = std::move(*config);
  }
  const bool tty = isatty(STDERR_FILENO) != 0;
  const doctor::Progress progress = progress_printer(tty);
  std::vector<doctor::RelayUrlResult> results;
  for (const auto& p : plan)
    results.push_back(doctor::check_relay(p.url, p.options, progress));
  if (coturn) {
    doctor::CoturnLintInput in;
    in.secret = overlay_secret;
    for (const auto& r : results) {
      if (r.peer) in.peers.push_back(r.peer->address);
    }
    if (auto cert = coturn->value("cert")) in.certificate = doctor::read_certificate_file(*cert);
    // The firewall is this host's: it matters when the doctor runs on the relay.
    const auto [first, last] = doctor::relay_port_range(*coturn);
    std::string note;
    in.firewall = doctor::read_firewall_drops(first, last, note);
    if (!note.empty()) std::cerr << "tern doctor: " << note << "\n";
    in.now_unix = wall_seconds();
    for (auto& f : doctor::lint_coturn_config(*coturn, in))
      config_findings.push_back(std::move(f));
  }
  if (tty) std::cerr << "\r\033[K" << std::flush;
  if (a.json) {
    std::cout << doctor::to_json(results, config_findings).dump(2) << "\n";
  } else {
    std::cout << doctor::render_human(results, config_findings);
  }
  if (!config_findings.empty()) return 1;
  for (const auto& r : results) {
    if (!r.passed() || !r.findings.empty()) return 1;
  }
  return 0;
}

}  // namespace

void add_doctor_relay(CLI::App& doctor) {
  auto args = std::make_shared<DoctorRelayArgs>();
  auto* relay = doctor.add_subcommand(
      "relay",
      "Check TURN/STUN servers over UDP, TCP or TLS: reachability, the mapped address, the TLS "
      "certificate, authentication, allocation, a relayed round trip to itself (RTT, jitter, "
      "loss), the largest packet and "
      "the lifetimes. Exit 0 when every URL passes, 1 otherwise, 2 for usage errors.");
  relay->allow_extras();
  relay->add_option(
      "url", args->urls,
      "turn:HOST[:PORT][?transport=udp|tcp], turns:HOST[:PORT] (TLS), stun:HOST[:PORT] "
      "(several allowed)");
  relay->add_option("--user", args->user, "Static TURN user (long-term credentials)");
  relay->add_option("--password", args->password, "Its password");
  relay->add_option("--secret", args->secret,
                    "TURN REST shared secret (coturn's static-auth-secret): credentials valid "
                    "for an hour are made from it");
  relay->add_option("--ca-file", args->ca_file,
                    "turns:: PEM file of the CAs to trust instead of the system's");
  relay->add_option("--duration", args->duration, "How long the round trip runs (default 10s)");
  relay->add_option("--rate", args->rate, "Probes per second in the round trip (default 50/s)");
  relay->add_option("--size", args->size, "Probe payload bytes (default 1200)");
  relay->add_option("--largest-search", args->largest_search,
                    "Time for the largest-packet search (default 8s; 0 skips it)");
  relay->add_option("--rate-steps", args->rate_steps,
                    "Rates to measure loss at: --rate, then 4x and 16x it (default 3; 1 only "
                    "--rate): loss that grows with the rate is a bandwidth cap");
  relay->add_option("--coturn-config", args->coturn_config,
                    "Lint this turnserver.conf: external-ip, relay ports, realm, secret, TLS "
                    "certificate, peer deny lists");
  relay->add_option("--netbird-config", args->netbird_config,
                    "Check the STUN/TURN servers of this NetBird management.json with its "
                    "credentials");
  relay->add_flag("--json", args->json, "Print JSON (fields in docs/doctor-relay.md)");
  // CLI11 unwinds with RuntimeError to hand an exit code to run()'s catch.
  relay->callback(
      [relay, args] { throw CLI::RuntimeError(run_doctor_relay(*args, relay->remaining())); });
}

}  // namespace tern::cli

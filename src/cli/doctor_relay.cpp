// `tern doctor relay URL...`: checks TURN/STUN servers and prints what is wrong with each,
// with the fix (docs/doctor.md). Exit status: 0 when every URL passes, 1 when one fails,
// 2 for a usage error.
#include <unistd.h>

#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "cli/doctor.hpp"
#include "cli/doctor_common.hpp"
#include "doctor/relay_check.hpp"
#include "doctor/relay_probe.hpp"
#include "doctor/turn_url.hpp"

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
  size_t size = 1200;
  bool json = false;
};

int usage_error(const std::string& message) {
  std::cerr << "tern doctor relay: " << message << "\n";
  return 2;
}

int run_doctor_relay(const DoctorRelayArgs& a, const std::vector<std::string>& extras) {
  if (!extras.empty()) return usage_error("unexpected argument '" + extras.front() + "'");
  if (a.urls.empty()) return usage_error("name at least one URL, e.g. turn:relay.example.com");
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
  std::vector<doctor::TurnUrl> urls;
  for (const auto& text : a.urls) {
    auto url = doctor::parse_turn_url(text);
    if (!url) return usage_error(url.error().message);
    urls.push_back(*url);
  }
  const bool tty = isatty(STDERR_FILENO) != 0;
  const doctor::Progress progress = progress_printer(tty);
  std::vector<doctor::RelayUrlResult> results;
  for (const auto& url : urls)
    results.push_back(doctor::check_relay(url, options, progress));
  if (tty) std::cerr << "\r\033[K" << std::flush;
  if (a.json) {
    std::cout << doctor::to_json(results).dump(2) << "\n";
  } else {
    std::cout << doctor::render_human(results);
  }
  for (const auto& r : results) {
    if (!r.passed()) return 1;
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
  relay->add_flag("--json", args->json, "Print JSON (fields in docs/doctor.md)");
  // CLI11 unwinds with RuntimeError to hand an exit code to run()'s catch.
  relay->callback(
      [relay, args] { throw CLI::RuntimeError(run_doctor_relay(*args, relay->remaining())); });
}

}  // namespace tern::cli

// `tern doctor` alone: runs every check that applies on this machine and prints one report,
// most likely cause first (docs/doctor.md). Exit status: 0 when nothing is wrong, 1 with a
// finding, 2 for a usage error.
#include "cli/doctor_all.hpp"

#include <unistd.h>

#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "cli/doctor.hpp"
#include "cli/doctor_common.hpp"
#include "doctor/turn_url.hpp"

namespace tern::cli {
namespace {

struct DoctorAllArgs {
  std::vector<std::string> stun;
  std::vector<std::string> relays;
  std::string user;
  std::string password;
  std::string secret;
  std::string ca_file;
  std::string duration = "20s";
  std::string lifetime_max = "48s";
  unsigned keepalive = 25;
  bool quick = false;
  bool no_ping = false;
  bool json = false;
};

int run_doctor(const DoctorAllArgs& a, const std::vector<std::string>& extras) {
  auto usage = [](const std::string& m) {
    std::cerr << "tern doctor: " << m << "\n";
    return 2;
  };
  if (!extras.empty()) {
    return usage("unexpected argument '" + extras.front() +
                 "' (checks: relay, nat, wg, mtu, routes; none runs them all)");
  }
  DoctorAllOptions o;
  for (const auto& s : a.stun) {
    auto url = doctor::parse_turn_url(s);
    if (!url) return usage(url.error().message);
    if (url->transport != doctor::UrlTransport::kUdp) return usage(s + ": --stun is UDP only");
  }
  for (const auto& r : a.relays) {
    auto url = doctor::parse_turn_url(r);
    if (!url) return usage(url.error().message);
  }
  o.stun = a.stun;
  o.relays = a.relays;
  const bool static_user = !a.user.empty() || !a.password.empty();
  if (static_user && !a.secret.empty())
    return usage("give --user/--password or --secret, not both");
  if (static_user && (a.user.empty() || a.password.empty())) {
    return usage("--user and --password go together");
  }
  if ((static_user || !a.secret.empty()) && a.relays.empty()) {
    return usage("credentials are for --relay URLs: name one");
  }
  if (static_user) o.relay.credentials = core::TurnCredentials{a.user, a.password};
  if (!a.secret.empty()) o.relay.secret = a.secret;
  o.relay.ca_file = a.ca_file;
  // The relay's round trip is shorter than `tern doctor relay`'s: the whole run stays near
  // a minute.
  o.relay.duration = std::chrono::seconds(5);
  auto d = parse_duration(a.duration);
  if (!d || *d > std::chrono::minutes(10)) {
    return usage("--duration '" + a.duration + "' is not like 20s (at most 10m)");
  }
  o.duration = *d;
  auto max = parse_duration(a.lifetime_max);
  if (!max || *max < std::chrono::seconds(2) || *max > std::chrono::seconds(600)) {
    return usage("--lifetime-max '" + a.lifetime_max + "' is not a duration of 2s to 10m");
  }
  o.lifetime_max = *max;
  if (a.keepalive == 0 || a.keepalive > 3600) return usage("--keepalive is 1 to 3600 seconds");
  o.keepalive = a.keepalive;
  o.quick = a.quick;
  o.df_ping = !a.no_ping;

  const bool tty = isatty(STDERR_FILENO) != 0;
  const auto overview = run_doctor_all(o, progress_printer(tty));
  if (tty) std::cerr << "\r\033[K" << std::flush;
  if (a.json) {
    std::cout << doctor::overview_to_json(overview).dump(2, ' ', false,
                                                         nlohmann::json::error_handler_t::replace)
              << "\n";
  } else {
    std::cout << doctor::render_overview_human(overview);
  }
  return overview.exit_status();
}

}  // namespace

void add_doctor_all(CLI::App& doctor) {
  auto args = std::make_shared<DoctorAllArgs>();
  doctor.allow_extras();
  doctor.add_option("--stun", args->stun,
                    "STUN server for the NAT check (stun:HOST[:PORT], several allowed; "
                    "default: the --relay URLs over UDP)");
  doctor.add_option("--relay", args->relays,
                    "TURN/STUN server to check as `tern doctor relay` does (several allowed)");
  doctor.add_option("--user", args->user, "Static TURN user for --relay");
  doctor.add_option("--password", args->password, "Its password");
  doctor.add_option("--secret", args->secret, "TURN REST shared secret for --relay");
  doctor.add_option("--ca-file", args->ca_file, "turns:: PEM file of the CAs to trust");
  doctor.add_option("--duration", args->duration,
                    "How long to sample the WireGuard interfaces (default 20s)");
  doctor.add_option("--lifetime-max", args->lifetime_max,
                    "Longest idle time the NAT lifetime search tests (default 48s: enough to "
                    "tell whether a 25 s keepalive holds)");
  doctor.add_option("--keepalive", args->keepalive,
                    "Without a WireGuard peer here: the keepalive to hold the NAT lifetime "
                    "against (default 25)");
  doctor.add_flag("--quick", args->quick, "Skip the NAT mapping lifetime search");
  doctor.add_flag("--no-ping", args->no_ping, "Skip the DF ping through each tunnel");
  doctor.add_flag("--json", args->json, "Print JSON (fields in docs/doctor.md)");
  doctor.callback([&doctor, args] {
    // A subcommand ran its own check (and exited through its own RuntimeError).
    if (!doctor.get_subcommands().empty()) return;
    throw CLI::RuntimeError(run_doctor(*args, doctor.remaining()));
  });
}

}  // namespace tern::cli

// `tern doctor wg [IFACE]`: samples every WireGuard interface (kernel or userspace) over a
// window and says, per peer, what loses packets and what to change (docs/doctor-wg.md). Exit
// status: 0 when nothing is wrong, 1 with a finding, 2 for a usage error.
#include <unistd.h>

#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "cli/doctor.hpp"
#include "cli/doctor_common.hpp"
#include "doctor/wg_run.hpp"

namespace tern::cli {
namespace {

struct DoctorWgArgs {
  std::vector<std::string> interfaces;
  std::string duration = "30s";
  std::string nat_lifetime;
  std::vector<std::string> stun;
  std::string lifetime_max = "120s";
  bool no_ping = false;
  bool json = false;
};

int run_doctor_wg(const DoctorWgArgs& a, const std::vector<std::string>& extras) {
  auto usage = [](const std::string& m) {
    std::cerr << "tern doctor wg: " << m << "\n";
    return 2;
  };
  if (!extras.empty()) return usage("unexpected argument '" + extras.front() + "'");
  if (a.interfaces.size() > 1) return usage("name one interface, or none for all");
  doctor::WgCheckOptions o;
  if (!a.interfaces.empty()) o.ifname = a.interfaces.front();
  auto d = parse_duration(a.duration);
  if (!d || *d > std::chrono::minutes(10)) {
    return usage("--duration '" + a.duration + "' is not like 30s (at most 10m)");
  }
  o.duration = *d;
  if (!a.nat_lifetime.empty()) {
    auto l = parse_duration(a.nat_lifetime);
    if (!l || *l < std::chrono::seconds(2)) {
      return usage("--nat-lifetime '" + a.nat_lifetime + "' is not like 15s");
    }
    o.nat_lifetime = *l;
  }
  if (!a.stun.empty() && !a.nat_lifetime.empty()) {
    return usage("give --nat-lifetime or --stun, not both");
  }
  o.stun = a.stun;
  auto max = parse_duration(a.lifetime_max);
  if (!max || *max < std::chrono::seconds(2) || *max > std::chrono::seconds(600)) {
    return usage("--lifetime-max '" + a.lifetime_max + "' is not a duration of 2s to 10m");
  }
  o.lifetime_max = *max;
  o.df_ping = !a.no_ping;
  const bool tty = isatty(STDERR_FILENO) != 0;
  std::string nat_note;
  auto reports = doctor::run_wg_check(o, progress_printer(tty), &nat_note);
  if (tty) std::cerr << "\r\033[K" << std::flush;
  if (!nat_note.empty() && !a.json) std::cout << nat_note << "\n";
  if (a.json) {
    std::cout << doctor::wg_to_json(reports).dump(2) << "\n";
  } else {
    std::cout << doctor::render_wg_human(reports);
  }
  for (const auto& r : reports) {
    if (!r.error.empty()) return o.ifname ? 2 : 1;
  }
  return doctor::has_findings(reports) ? 1 : 0;
}

}  // namespace

void add_doctor_wg(CLI::App& doctor) {
  auto args = std::make_shared<DoctorWgArgs>();
  auto* wg = doctor.add_subcommand(
      "wg",
      "Sample WireGuard interfaces (kernel or userspace: tern, wireguard-go, NetBird) and say "
      "per peer what loses packets: endpoint flapping, dead sessions, one-way loss, a keepalive "
      "longer than the NAT keeps mappings, an MTU black hole inside the tunnel. Exit 0 when "
      "nothing is wrong, 1 with a finding, 2 for usage errors.");
  wg->allow_extras();
  wg->add_option("interface", args->interfaces, "The interface (default: every one)");
  wg->add_option("--duration", args->duration, "How long to sample (default 30s)");
  wg->add_option("--nat-lifetime", args->nat_lifetime,
                 "The NAT's UDP mapping lifetime, as `tern doctor nat` measured it (e.g. 15s)");
  wg->add_option("--stun", args->stun,
                 "Measure the NAT's mapping lifetime first against this STUN server "
                 "(stun:HOST[:PORT], RESPONSE-PORT needed), as `tern doctor nat` does");
  wg->add_option("--lifetime-max", args->lifetime_max,
                 "With --stun: the longest idle time tested (default 120s)");
  wg->add_flag("--no-ping", args->no_ping, "Skip the DF ping through the tunnel");
  wg->add_flag("--json", args->json, "Print JSON (fields in docs/doctor-wg.md)");
  wg->callback([wg, args] { throw CLI::RuntimeError(run_doctor_wg(*args, wg->remaining())); });
}

}  // namespace tern::cli

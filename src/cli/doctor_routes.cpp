// `tern doctor routes [IFACE]`: every WireGuard interface's overlay prefixes against the
// machine's other addresses, routes, policy rules, rp_filter and firewall
// (docs/doctor-routes.md). Exit status: 0 when nothing is wrong, 1 with a finding, 2 for a
// usage error or when the named interface cannot be read.
#include <unistd.h>

#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "cli/doctor.hpp"
#include "cli/doctor_common.hpp"
#include "doctor/routes_run.hpp"

namespace tern::cli {
namespace {

struct DoctorRoutesArgs {
  std::vector<std::string> interfaces;
  bool no_firewall = false;
  bool json = false;
};

int run_doctor_routes(const DoctorRoutesArgs& a, const std::vector<std::string>& extras) {
  auto usage = [](const std::string& m) {
    std::cerr << "tern doctor routes: " << m << "\n";
    return 2;
  };
  if (!extras.empty()) return usage("unexpected argument '" + extras.front() + "'");
  if (a.interfaces.size() > 1) return usage("name one interface, or none for all");
  doctor::RoutesOptions o;
  if (!a.interfaces.empty()) o.ifname = a.interfaces.front();
  o.firewall = !a.no_firewall;
  const bool tty = isatty(STDERR_FILENO) != 0;
  const auto report = doctor::run_routes_check(o, progress_printer(tty));
  if (tty) std::cerr << "\r\033[K" << std::flush;
  if (a.json) {
    // An interface name need not be UTF-8; the JSON must be.
    std::cout << doctor::routes_to_json(report).dump(2, ' ', false,
                                                     nlohmann::json::error_handler_t::replace)
              << "\n";
  } else {
    std::cout << doctor::render_routes_human(report);
  }
  if (!report.error.empty()) return 1;
  for (const auto& i : report.interfaces) {
    if (!i.error.empty()) return o.ifname ? 2 : 1;
  }
  return doctor::has_findings(report) ? 1 : 0;
}

}  // namespace

void add_doctor_routes(CLI::App& doctor) {
  auto args = std::make_shared<DoctorRoutesArgs>();
  auto* routes = doctor.add_subcommand(
      "routes",
      "Check WireGuard overlays (tern, wireguard-go, NetBird, wg-quick) against this machine's "
      "routes: an overlay range overlapping a LAN or a bridge, a more specific route stealing "
      "allowed IPs, a peer's endpoint routed into its own tunnel, strict rp_filter, a firewall "
      "rule dropping the listen port. Exit 0 when nothing is wrong, 1 with a finding, 2 for "
      "usage errors.");
  routes->allow_extras();
  routes->add_option("interface", args->interfaces, "The interface (default: every one)");
  routes->add_flag("--no-firewall", args->no_firewall, "Do not read the nftables ruleset");
  routes->add_flag("--json", args->json, "Print JSON (fields in docs/doctor-routes.md)");
  routes->callback(
      [routes, args] { throw CLI::RuntimeError(run_doctor_routes(*args, routes->remaining())); });
}

}  // namespace tern::cli

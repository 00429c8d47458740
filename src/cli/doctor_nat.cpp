// `tern doctor nat --stun URL...`: the NAT in front of this machine as RFC 5780 describes it
// (mapping, filtering, hairpinning, port preservation) and how long it keeps an idle UDP
// mapping, with the keepalive that holds it (docs/doctor-nat.md). Exit status: 0 when nothing
// is wrong, 1 with a finding, 2 for a usage error.
#include <unistd.h>

#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "cli/doctor.hpp"
#include "cli/doctor_common.hpp"
#include "doctor/nat_run.hpp"

namespace tern::cli {
namespace {

struct DoctorNatArgs {
  std::vector<std::string> stun;
  bool quick = false;
  bool json = false;
  std::string lifetime_max = "120s";
  unsigned keepalive = 25;
};

int run_doctor_nat(const DoctorNatArgs& a, const std::vector<std::string>& extras) {
  auto usage = [](const std::string& m) {
    std::cerr << "tern doctor nat: " << m << "\n";
    return 2;
  };
  if (!extras.empty()) return usage("unexpected argument '" + extras.front() + "'");
  if (a.stun.empty()) {
    return usage(
        "name a STUN server, e.g. --stun stun:stun.example.com (one with two "
        "addresses tells the most)");
  }
  doctor::NatCheckOptions options;
  options.servers = a.stun;
  options.quick = a.quick;
  auto max = parse_duration(a.lifetime_max);
  if (!max || *max < std::chrono::seconds(2) || *max > std::chrono::seconds(600)) {
    return usage("--lifetime-max '" + a.lifetime_max + "' is not a duration of 2s to 10m");
  }
  options.lifetime_max = *max;
  if (a.keepalive == 0 || a.keepalive > 3600) return usage("--keepalive is 1 to 3600 seconds");
  options.keepalive_in_use = a.keepalive;
  const bool tty = isatty(STDERR_FILENO) != 0;
  auto report = doctor::check_nat(options, progress_printer(tty));
  if (tty) std::cerr << "\r\033[K" << std::flush;
  if (!report) {
    std::cerr << "tern doctor nat: " << report.error().message << "\n";
    return 2;
  }
  if (a.json) {
    std::cout << doctor::nat_to_json(*report).dump(2) << "\n";
  } else {
    std::cout << doctor::render_nat_human(*report);
  }
  return doctor::nat_findings(*report).empty() ? 0 : 1;
}

}  // namespace

void add_doctor_nat(CLI::App& doctor) {
  auto args = std::make_shared<DoctorNatArgs>();
  auto* nat = doctor.add_subcommand(
      "nat",
      "Tell the NAT's mapping and filtering behaviour (RFC 5780), hairpinning, port "
      "preservation, and how long it keeps an idle UDP mapping, with the keepalive that holds "
      "it. Exit 0 when nothing is wrong, 1 with a finding, 2 for usage errors.");
  nat->allow_extras();
  nat->add_option("--stun", args->stun,
                  "stun:HOST[:PORT] (several allowed; the first is asked for RFC 5780 tests)");
  nat->add_flag("--quick", args->quick, "Skip the mapping lifetime search");
  nat->add_option("--lifetime-max", args->lifetime_max,
                  "Longest idle time the lifetime search tests (default 120s; 12 sockets idle "
                  "in parallel at evenly spread intervals up to it)");
  nat->add_option("--keepalive", args->keepalive,
                  "The keepalive the overlay uses, in seconds (default 25)");
  nat->add_flag("--json", args->json, "Print JSON (fields in docs/doctor-nat.md)");
  nat->callback([nat, args] { throw CLI::RuntimeError(run_doctor_nat(*args, nat->remaining())); });
}

}  // namespace tern::cli

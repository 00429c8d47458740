// `tern doctor mtu PEER_OR_HOST`: the path MTU found by DF pings, whether ICMP Packet Too Big
// is filtered on the way (the kernel's PMTUD view against the probes), and the MTU to
// configure (docs/doctor-mtu.md). A tern peer (public key, or an address in its allowed IPs)
// is measured twice: to its endpoint and through the tunnel. Exit status: 0 nothing wrong,
// 1 a finding (or nothing could be measured), 2 a usage error.
#include <net/if.h>
#include <unistd.h>

#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "agent/status_client.hpp"
#include "cli/doctor.hpp"
#include "cli/doctor_common.hpp"
#include "doctor/mtu_check.hpp"

namespace tern::cli {
namespace {

constexpr char kSocketDir[] = "/var/run/wireguard";

struct DoctorMtuArgs {
  std::string target;
  std::string interface_name;
  size_t max = 0;
  unsigned tries = 3;
  std::string timeout = "1s";
  std::string budget = "6s";
  bool json = false;
};

int usage_error(const std::string& message) {
  std::cerr << "tern doctor mtu: " << message << "\n";
  return 2;
}

bool looks_like_key(const std::string& s) {
  return s.size() == 44 && s.back() == '=' &&
         s.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=") ==
             std::string::npos;
}

// The agent's own view of the peer's MTU (issue 4 §5); an older agent leaves it unknown.
void agent_mtu_fields(const agent::PeerStatus& p, doctor::MtuPeer& out) {
  if (!p.mtu.known) return;
  out.agent_reports_mtu = true;
  if (p.mtu.path_mtu) out.agent_path_mtu = *p.mtu.path_mtu;
  if (p.mtu.overlay_mtu) out.agent_overlay_mtu = p.mtu.overlay_mtu;
  out.agent_pmtud_state = p.mtu.pmtud_state;
}

std::optional<IpAddress> single_address(const std::vector<IpPrefix>& allowed) {
  for (const auto& a : allowed) {
    if (a.length == a.address.bits()) return a.address;
  }
  return std::nullopt;
}

// The tern peer TARGET names: its public key, or an address inside its allowed IPs (the most
// specific prefix wins). nullopt when no running tern interface has it.
std::optional<doctor::MtuPeer> find_peer(const std::string& target,
                                         const std::optional<IpAddress>& address,
                                         const std::string& only_interface) {
  std::vector<std::string> names;
  if (!only_interface.empty()) {
    names.push_back(only_interface);
  } else {
    names = agent::list_interfaces(kSocketDir);
  }
  std::optional<doctor::MtuPeer> best;
  int best_length = -1;
  for (const auto& name : names) {
    // A socket whose interface is not here belongs to another network namespace.
    if (::if_nametoindex(name.c_str()) == 0) continue;
    auto status = agent::query_status(std::string(kSocketDir) + "/" + name + ".sock");
    if (!status) continue;  // not a tern interface, or not running
    for (const auto& p : status->peers) {
      int length = -1;
      if (p.public_key == target) {
        length = 1000;
      } else if (address) {
        for (const auto& a : p.allowed_ips) {
          if (a.masked().contains(*address)) length = std::max<int>(length, a.length);
        }
      }
      if (length <= best_length) continue;
      best_length = length;
      doctor::MtuPeer m;
      m.public_key = p.public_key;
      m.interface_name = status->name.empty() ? name : status->name;
      m.interface_mtu = status->mtu;
      m.endpoint = p.endpoint;
      m.overlay_address = address ? address : single_address(p.allowed_ips);
      agent_mtu_fields(p, m);
      best = m;
    }
  }
  return best;
}

int run_doctor_mtu(const DoctorMtuArgs& a, const std::vector<std::string>& extras) {
  if (!extras.empty()) return usage_error("unexpected argument '" + extras.front() + "'");
  if (a.target.empty()) return usage_error("name a peer (public key or overlay address) or host");
  doctor::MtuCheckOptions options;
  auto timeout = parse_duration(a.timeout);
  if (!timeout || *timeout > std::chrono::seconds(10)) {
    return usage_error("--timeout '" + a.timeout + "' is not like 1s or 500ms (at most 10s)");
  }
  options.probe_timeout = *timeout;
  auto budget = parse_duration(a.budget);
  if (!budget || *budget > std::chrono::seconds(60)) {
    return usage_error("--budget '" + a.budget + "' is not like 6s (at most 60s)");
  }
  options.budget = *budget;
  if (a.tries < 1 || a.tries > 10) return usage_error("--tries must be 1 to 10");
  options.tries = a.tries;
  if (a.max != 0) {
    if (a.max < 68 || a.max > 65535) return usage_error("--max must be 68 to 65535");
    options.max_size = a.max;
  }
  if (a.interface_name.size() > 15) return usage_error("--interface name is too long");

  const bool tty = isatty(STDERR_FILENO) != 0;
  const doctor::Progress progress = progress_printer(tty);
  doctor::MtuReport report;
  const bool key = looks_like_key(a.target);
  const auto literal = IpAddress::parse(a.target);
  std::optional<doctor::MtuPeer> peer;
  if (key || literal) peer = find_peer(a.target, literal, a.interface_name);
  if (peer) {
    report = doctor::check_mtu_peer(a.target, *peer, options, progress);
  } else if (key) {
    report.target = a.target;
    report.findings.push_back(
        {doctor::MtuCause::kPeerNotFound, "no running tern interface has the peer " + a.target,
         "check the key with `tern status`, or name the peer's overlay address or a host"});
  } else {
    auto address = doctor::resolve_host(a.target);
    if (!address) return usage_error(address.error().message);
    options.device = a.interface_name;
    report = doctor::check_mtu_host(a.target, *address, options, progress);
  }
  if (tty) std::cerr << "\r\033[K" << std::flush;
  if (a.json) {
    std::cout << doctor::to_json(report).dump(2) << "\n";
  } else {
    std::cout << doctor::render_human(report);
  }
  const bool measured = report.underlay || report.overlay;
  if (!measured && report.findings.empty()) {
    if (!report.underlay_error.empty())
      std::cerr << "tern doctor mtu: " << report.underlay_error << "\n";
    return 1;
  }
  return report.healthy() ? 0 : 1;
}

}  // namespace

void add_doctor_mtu(CLI::App& doctor) {
  auto args = std::make_shared<DoctorMtuArgs>();
  auto* mtu = doctor.add_subcommand(
      "mtu",
      "Find the path MTU to a peer or host with DF pings, tell whether ICMP Packet Too Big is "
      "filtered on the way, and give the MTU to configure. Exit 0 when nothing is wrong, 1 "
      "for a finding, 2 for usage errors.");
  mtu->allow_extras();
  mtu->add_option("target", args->target,
                  "A tern peer (public key or overlay address) or a host (name or address)");
  mtu->add_option("--interface", args->interface_name,
                  "Host: probe through this interface; peer: look for it only here");
  mtu->add_option("--max", args->max, "Largest IP packet to try (default: the interface MTU)");
  mtu->add_option("--tries", args->tries, "Attempts before a size counts as lost (default 3)");
  mtu->add_option("--timeout", args->timeout, "Wait for an answer at most (default 1s)");
  mtu->add_option("--budget", args->budget, "Time for each path measured (default 6s)");
  mtu->add_flag("--json", args->json, "Print JSON (fields in docs/doctor-mtu.md)");
  // CLI11 unwinds with RuntimeError to hand an exit code to run()'s catch.
  mtu->callback([mtu, args] { throw CLI::RuntimeError(run_doctor_mtu(*args, mtu->remaining())); });
}

}  // namespace tern::cli

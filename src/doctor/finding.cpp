#include "doctor/finding.hpp"

#include <algorithm>
#include <array>
#include <tuple>
#include <utility>

#include <fmt/format.h>

namespace tern::doctor {
namespace {

// Most likely cause first (docs/doctor.md, "Order"): a cause that explains other findings
// comes before the symptoms it produces; a setting to change before an observation.
constexpr std::array<std::pair<std::string_view, int>, 31> kRanks{{
    // Nothing of the overlay works while these hold (routes: docs/doctor-routes.md).
    {"route_overlap_lan", 100},
    {"endpoint_via_tunnel", 110},
    {"route_stolen", 120},
    {"firewall_drops_port", 130},
    {"rp_filter_strict", 140},
    {"handshake_failing", 200},
    // A relay that cannot carry data: every relayed packet is lost (docs/doctor-relay.md).
    {"relay_unreachable", 300},
    {"relay_server_fault", 300},
    {"rest_expired", 310},
    {"rest_not_yet_valid", 310},
    {"rest_wrong_secret", 310},
    {"relay_address_private", 320},
    {"relay_ports_blocked", 330},
    {"relay_permission_refused", 340},
    // Causes of intermittent loss, each with a setting to change.
    {"tunnel_mtu_black_hole", 400},
    {"tunnel_black_hole", 400},
    {"ptb_filtered", 410},
    {"below_ipv6_minimum", 420},
    {"keepalive_exceeds_nat_lifetime", 500},
    {"nat_short_lifetime", 510},
    {"nat_symmetric", 600},
    // Symptoms: they have a cause above when one was found.
    {"endpoint_flapping", 700},
    {"handshake_stale", 710},
    {"one_way_loss", 720},
    {"overlay_unreachable", 730},
    // The doctor's own tools failing: they hide causes, cause none.
    {"stun_unreachable", 900},
    {"stun_server_fault", 910},
    {"no_echo_reply", 920},
    {"peer_not_found", 930},
    {"rest_valid_by_clock_skew", 950},
    {"relay_certificate", 960},
}};

// A code not in the table: after its check's known codes.
int check_rank(std::string_view check) {
  if (check == "routes") return 190;
  if (check == "wg") return 790;
  if (check == "relay") return 390;
  if (check == "mtu") return 490;
  if (check == "nat") return 690;
  return 1000;
}

}  // namespace

std::string_view severity_name(Severity s) {
  return s == Severity::kError ? "error" : "warning";
}

std::string_view subject_kind_name(SubjectKind k) {
  switch (k) {
    case SubjectKind::kInterface:
      return "interface";
    case SubjectKind::kPeer:
      return "peer";
    case SubjectKind::kRelay:
      return "relay";
    case SubjectKind::kHost:
      return "host";
    case SubjectKind::kRoute:
      return "route";
  }
  return "host";
}

int cause_rank(std::string_view code, std::string_view check) {
  for (const auto& [c, rank] : kRanks) {
    if (c == code) return rank;
  }
  // A new routes or relay code is known by its prefix.
  if (code.starts_with("route")) return check_rank("routes");
  if (code.starts_with("relay_") || code.starts_with("rest_")) return check_rank("relay");
  return check_rank(check);
}

void order_findings(std::vector<Finding>& findings) {
  auto key = [](const Finding& f) {
    return std::tuple(cause_rank(f.code, f.check), f.severity, f.subject.interface, f.subject.name);
  };
  std::stable_sort(findings.begin(), findings.end(),
                   [&](const Finding& a, const Finding& b) { return key(a) < key(b); });
}

nlohmann::json to_json(const Finding& f) {
  nlohmann::json subject = {{"kind", subject_kind_name(f.subject.kind)}, {"name", f.subject.name}};
  if (!f.subject.interface.empty()) subject["interface"] = f.subject.interface;
  return {{"code", f.code},
          {"severity", severity_name(f.severity)},
          {"check", f.check},
          {"subject", subject},
          {"message", f.message}};
}

std::string render_line(const Finding& f) {
  std::string who;
  switch (f.subject.kind) {
    case SubjectKind::kPeer:
      who = fmt::format("peer {} on {}", f.subject.name, f.subject.interface);
      break;
    case SubjectKind::kHost:
      who = f.subject.name.empty() ? "this host" : f.subject.name;
      break;
    default:
      who = fmt::format("{} {}", subject_kind_name(f.subject.kind), f.subject.name);
  }
  return fmt::format("{:<7} {}: [{}] {}", severity_name(f.severity), who, f.code, f.message);
}

}  // namespace tern::doctor

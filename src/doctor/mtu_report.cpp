#include "doctor/mtu_report.hpp"

#include <fmt/format.h>

namespace tern::doctor {
namespace {

template <class T>
nlohmann::json opt(const std::optional<T>& v) {
  return v ? nlohmann::json(*v) : nlohmann::json();
}

nlohmann::json opt_ms(const std::optional<Duration>& d) {
  return d ? nlohmann::json(static_cast<double>(d->count()) / 1e6) : nlohmann::json();
}

std::string path_lines(const DfPingResult& r, const std::string& title) {
  const auto& s = r.search;
  std::string out = fmt::format("{} {}", title, r.target.to_string());
  if (!r.interface_name.empty()) {
    out += fmt::format(" via {}", r.interface_name);
    if (r.interface_mtu) out += fmt::format(" (MTU {})", *r.interface_mtu);
  }
  out += "\n";
  if (!s.reachable()) {
    out += fmt::format("  no echo reply ({} probes)\n", s.probes_sent);
    if (!r.send_error.empty()) out += "  send failed:     " + r.send_error + "\n";
  } else if (s.largest_answered) {
    out += fmt::format("  path MTU:        {}{}\n", *s.largest_answered,
                       s.exact ? "" : (s.out_of_time ? " (at least; out of time)" : " (at least)"));
    if (s.smallest_lost) out += fmt::format("  lost from:       {} bytes\n", *s.smallest_lost);
  }
  out += fmt::format("  kernel's PMTU:   {}\n",
                     r.kernel_pmtu_after ? std::to_string(*r.kernel_pmtu_after) : "unknown");
  out += fmt::format("  too big errors:  {}", s.too_big_errors);
  if (s.too_big_mtu) out += fmt::format(" (MTU {})", *s.too_big_mtu);
  out += "\n";
  if (s.local_limit) out += fmt::format("  refused locally: {} bytes and up\n", *s.local_limit);
  if (s.rtt_min) {
    out += fmt::format("  rtt:             {:.1f}..{:.1f} ms\n",
                       static_cast<double>(s.rtt_min->count()) / 1e6,
                       static_cast<double>(s.rtt_max->count()) / 1e6);
  }
  out += fmt::format("  probes:          {} sent, {} answered, {:.1f} s\n", s.probes_sent,
                     s.replies, static_cast<double>(s.elapsed.count()) / 1e9);
  return out;
}

}  // namespace

nlohmann::json to_json(const DfPingResult& r) {
  const auto& s = r.search;
  nlohmann::json j;
  j["target"] = r.target.to_string();
  j["family"] = r.target.is_v4() ? "ipv4" : "ipv6";
  j["interface"] = r.interface_name.empty() ? nlohmann::json() : nlohmann::json(r.interface_name);
  j["interface_mtu"] = opt(r.interface_mtu);
  j["socket"] = ping_socket_kind_name(r.socket_kind);
  j["reachable"] = s.reachable();
  j["path_mtu"] = opt(s.largest_answered);
  j["exact"] = s.exact;
  j["smallest_lost"] = opt(s.smallest_lost);
  j["search_min"] = r.min_size;
  j["search_max"] = r.max_size;
  j["too_big_received"] = s.too_big_errors;
  j["too_big_mtu"] = opt(s.too_big_mtu);
  j["other_icmp_errors"] = s.other_errors;
  j["local_limit"] = opt(s.local_limit);
  j["send_error"] = r.send_error.empty() ? nlohmann::json() : nlohmann::json(r.send_error);
  j["kernel_pmtu_before"] = opt(r.kernel_pmtu_before);
  j["kernel_pmtu_after"] = opt(r.kernel_pmtu_after);
  j["probes_sent"] = s.probes_sent;
  j["replies"] = s.replies;
  j["rtt_min_ms"] = opt_ms(s.rtt_min);
  j["rtt_max_ms"] = opt_ms(s.rtt_max);
  j["elapsed_ms"] = static_cast<double>(s.elapsed.count()) / 1e6;
  j["out_of_time"] = s.out_of_time;
  j["sizes"] = nlohmann::json::array();
  for (const auto& z : s.sizes) {
    j["sizes"].push_back(
        {{"size", z.size}, {"attempts", z.attempts}, {"outcome", size_outcome_name(z.outcome)}});
  }
  nlohmann::json drops = nlohmann::json::object();
  for (size_t i = 0; i < kIcmpDropCount; ++i) {
    if (r.drops[i]) drops[std::string(icmp_drop_name(static_cast<IcmpDrop>(i)))] = r.drops[i];
  }
  j["ignored"] = drops;
  return j;
}

nlohmann::json to_json(const MtuReport& report) {
  nlohmann::json j;
  j["version"] = 1;
  j["target"] = report.target;
  j["mode"] = report.peer ? "peer" : "host";
  if (report.peer) {
    const auto& p = *report.peer;
    nlohmann::json pj;
    pj["public_key"] = p.public_key;
    pj["interface"] = p.interface_name;
    pj["interface_mtu"] = p.interface_mtu;
    pj["endpoint"] = p.endpoint ? nlohmann::json(p.endpoint->to_string()) : nlohmann::json();
    pj["overlay_address"] =
        p.overlay_address ? nlohmann::json(p.overlay_address->to_string()) : nlohmann::json();
    pj["agent_reports_mtu"] = p.agent_reports_mtu;
    pj["agent_path_mtu"] = opt(p.agent_path_mtu);
    pj["agent_overlay_mtu"] = opt(p.agent_overlay_mtu);
    pj["agent_pmtud_state"] =
        p.agent_pmtud_state.empty() ? nlohmann::json() : nlohmann::json(p.agent_pmtud_state);
    j["peer"] = pj;
  } else {
    j["peer"] = nullptr;
  }
  j["underlay"] = report.underlay ? to_json(*report.underlay) : nlohmann::json();
  j["underlay_error"] =
      report.underlay_error.empty() ? nlohmann::json() : nlohmann::json(report.underlay_error);
  j["overlay"] = report.overlay ? to_json(*report.overlay) : nlohmann::json();
  j["overlay_error"] =
      report.overlay_error.empty() ? nlohmann::json() : nlohmann::json(report.overlay_error);
  j["findings"] = nlohmann::json::array();
  for (const auto& f : report.findings) {
    j["findings"].push_back({{"cause", mtu_cause_name(f.cause)},
                             {"code", mtu_cause_name(f.cause)},
                             {"detail", f.detail},
                             {"fix", f.fix}});
  }
  j["notes"] = report.notes;
  j["recommended_mtu"] = opt(report.recommended_mtu);
  j["recommended_reason"] = report.recommended_reason;
  j["healthy"] = report.healthy();
  return j;
}

std::string render_human(const MtuReport& report) {
  std::string out = fmt::format("tern doctor mtu {}\n", report.target);
  if (report.peer) {
    const auto& p = *report.peer;
    out += fmt::format("peer {} on {} (MTU {})\n", p.public_key, p.interface_name, p.interface_mtu);
    if (p.agent_reports_mtu) {
      out += fmt::format("  agent's view:    path MTU {}, overlay MTU {}{}\n",
                         p.agent_path_mtu ? std::to_string(*p.agent_path_mtu) : "unknown",
                         p.agent_overlay_mtu ? std::to_string(*p.agent_overlay_mtu) : "unknown",
                         p.agent_pmtud_state.empty() ? "" : " (" + p.agent_pmtud_state + ")");
    }
  }
  out += "\n";
  if (report.underlay) {
    out += path_lines(*report.underlay, report.peer ? "underlay to endpoint" : "path to");
  } else if (!report.underlay_error.empty()) {
    out += "underlay: not measured: " + report.underlay_error + "\n";
  }
  if (report.overlay) {
    out += path_lines(*report.overlay, "through the tunnel to");
  } else if (!report.overlay_error.empty()) {
    out += "tunnel: not measured: " + report.overlay_error + "\n";
  }
  out += "\n";
  for (const auto& f : report.findings) {
    out += fmt::format("FINDING [{}] {}\n  fix: {}\n", mtu_cause_name(f.cause), f.detail, f.fix);
  }
  for (const auto& n : report.notes)
    out += "note: " + n + "\n";
  if (report.recommended_mtu) {
    out += fmt::format("MTU to configure for a WireGuard tunnel over this path: {} ({})\n",
                       *report.recommended_mtu, report.recommended_reason);
  }
  if (report.healthy()) out += "no MTU problem found\n";
  return out;
}

}  // namespace tern::doctor

// The judgement of `tern doctor mtu`: from the DF-ping results to findings, notes and the MTU
// to configure. The rule that matters: probes that stop above some size without any "too big"
// coming back, while the kernel still believes in a larger path MTU, mean ICMP is filtered on
// the way and every sender relying on PMTUD black-holes its large packets.
#include <fmt/format.h>

#include "doctor/mtu_report.hpp"

namespace tern::doctor {
namespace {

std::string tries_text(const DfPingResult& r, size_t size) {
  for (const auto& s : r.search.sizes) {
    if (s.size == size) return fmt::format("{} time{}", s.attempts, s.attempts == 1 ? "" : "s");
  }
  return "repeatedly";
}

// The largest size answered, when it is a real path MTU (at least the minimum searched).
std::optional<size_t> measured_mtu(const DfPingResult& r) {
  const auto& s = r.search;
  if (!s.largest_answered || *s.largest_answered < r.min_size) return std::nullopt;
  return s.largest_answered;
}

// Findings about one path measured with DF pings. `what` names it in sentences.
void judge_path(MtuReport& report, const DfPingResult& r, const std::string& what,
                bool echo_optional) {
  const auto& s = r.search;
  const std::string target = r.target.to_string();
  if (!s.reachable()) {
    std::string detail =
        fmt::format("{} ({}) answered none of {} ICMP echo requests ({} to {} bytes)", what, target,
                    s.probes_sent, s.sizes.empty() ? 0 : s.sizes.front().size, r.max_size);
    if (!r.send_error.empty()) detail += "; sending them failed: " + r.send_error;
    if (echo_optional) {
      report.notes.push_back(detail + ": its path MTU cannot be measured from here");
    } else {
      report.findings.push_back(
          {MtuCause::kNoEchoReply, detail,
           r.send_error.empty()
               ? "allow ICMP echo to " + target + ", or name a host on the same path that answers"
               : "check the route to " + target + " (ip route get " + target + ")"});
    }
    return;
  }
  if (r.target.is_v6() && !measured_mtu(r)) {
    report.findings.push_back(
        {MtuCause::kBelowIpv6Minimum,
         fmt::format("{} ({}) answers {} bytes but not 1280 ({}), the minimum every IPv6 link "
                     "must carry",
                     what, target, s.largest_answered.value_or(0), tries_text(r, r.min_size)),
         "a link on the way is misconfigured: find it with tracepath -6 " + target});
    return;
  }
  const auto mtu = measured_mtu(r);
  if (!mtu) {
    report.findings.push_back({MtuCause::kNoEchoReply,
                               fmt::format("{} ({}) answers only {} bytes, not {}", what, target,
                                           s.largest_answered.value_or(0), r.min_size),
                               "check the path with tracepath " + target});
    return;
  }
  if (*mtu >= r.max_size || !s.smallest_lost) return;
  const uint32_t kernel = r.kernel_pmtu_after.value_or(0);
  if (s.too_big_errors == 0 && kernel > *mtu) {
    report.findings.push_back(
        {MtuCause::kPtbFiltered,
         fmt::format("packets above {} bytes to {} vanish: {} bytes and up were lost ({} each) "
                     "and no ICMP {} came back, while the kernel still believes the path "
                     "carries {}: ICMP Packet Too Big is being filtered on the way",
                     *mtu, target, *s.smallest_lost, tries_text(r, *s.smallest_lost),
                     r.target.is_v4() ? "\"fragmentation needed\"" : "Packet Too Big", kernel),
         fmt::format("configure MTU {} on tunnels over this path (see below), or let ICMP {} "
                     "through the firewall that drops it",
                     *mtu - std::min(*mtu, wireguard_overhead(r.target.family())),
                     r.target.is_v4() ? "type 3 code 4" : "type 2")});
  } else if (s.too_big_errors > 0) {
    report.notes.push_back(fmt::format(
        "a router on the way to {} reports MTU {} with ICMP {}: PMTUD works on this path", target,
        s.too_big_mtu.value_or(*mtu),
        r.target.is_v4() ? "\"fragmentation needed\"" : "Packet Too Big"));
  }
}

void judge_overlay(MtuReport& report, const DfPingResult& r) {
  const std::string iface =
      r.interface_name.empty() && report.peer ? report.peer->interface_name : r.interface_name;
  const auto& s = r.search;
  const std::string target = r.target.to_string();
  if (!s.reachable()) {
    report.findings.push_back(
        {MtuCause::kOverlayUnreachable,
         fmt::format("{} {} answered none of {} echo requests through {}",
                     report.peer ? "the peer's overlay address" : "the host", target, s.probes_sent,
                     iface),
         "check that the tunnel is up (`tern status`) and that the peer answers ping"});
    return;
  }
  const auto largest = s.largest_answered.value_or(0);
  if (largest >= r.max_size || !s.smallest_lost) return;
  if (s.too_big_errors > 0) {
    // tern's own TUN boundary answers oversized packets with "too big": PMTUD works.
    report.notes.push_back(fmt::format(
        "through {} packets above {} bytes get ICMP \"too big\" (MTU {}): senders learn it", iface,
        largest, s.too_big_mtu.value_or(largest)));
    return;
  }
  report.findings.push_back(
      {MtuCause::kTunnelBlackHole,
       fmt::format("packets above {} bytes vanish inside the tunnel to {} ({} bytes lost "
                   "{}, no ICMP error) although {} has MTU {}",
                   largest, target, *s.smallest_lost, tries_text(r, *s.smallest_lost), iface,
                   r.max_size),
       fmt::format("set MTU {} on {}", largest, iface)});
}

void recommend(MtuReport& report) {
  if (report.underlay) {
    if (auto mtu = measured_mtu(*report.underlay)) {
      const auto family = report.underlay->target.family();
      const size_t overhead = wireguard_overhead(family);
      if (*mtu > overhead) {
        report.recommended_mtu = *mtu - overhead;
        report.recommended_reason = fmt::format(
            "path MTU {} minus {} bytes of WireGuard over {} (IP {} + UDP 8 + WireGuard 32)", *mtu,
            overhead, family == IpAddress::Family::kV4 ? "IPv4" : "IPv6",
            family == IpAddress::Family::kV4 ? 20 : 40);
        return;
      }
    }
  }
  if (report.overlay && report.overlay->search.largest_answered &&
      report.overlay->search.reachable()) {
    report.recommended_mtu = *report.overlay->search.largest_answered;
    report.recommended_reason = "the largest packet that crosses the tunnel";
  }
}

}  // namespace

std::string_view mtu_cause_name(MtuCause c) {
  switch (c) {
    case MtuCause::kNoEchoReply:
      return "no_echo_reply";
    case MtuCause::kBelowIpv6Minimum:
      return "below_ipv6_minimum";
    case MtuCause::kPtbFiltered:
      return "ptb_filtered";
    case MtuCause::kTunnelBlackHole:
      return "tunnel_black_hole";
    case MtuCause::kOverlayUnreachable:
      return "overlay_unreachable";
    case MtuCause::kPeerNotFound:
      return "peer_not_found";
  }
  return "unknown";
}

void analyze(MtuReport& report) {
  report.notes.clear();
  std::erase_if(report.findings,
                [](const MtuFinding& f) { return f.cause != MtuCause::kPeerNotFound; });
  if (report.underlay) {
    judge_path(report, *report.underlay, report.peer ? "the peer's endpoint" : "the host",
               report.peer.has_value());
  }
  if (report.overlay) judge_overlay(report, *report.overlay);
  if (report.peer && report.peer->agent_path_mtu && report.underlay) {
    const auto measured = measured_mtu(*report.underlay);
    if (measured && *measured < *report.peer->agent_path_mtu) {
      report.notes.push_back(fmt::format(
          "the agent's own probes (UDP, to the peer's tern) found path MTU {}, DF pings (ICMP, "
          "to the endpoint's host) found {}: a NAT or firewall may treat the two differently",
          *report.peer->agent_path_mtu, *measured));
    }
  }
  if (report.peer && !report.peer->agent_reports_mtu) {
    report.notes.push_back(
        "the agent does not report path and overlay MTU (it is older than this tern): "
        "upgrade it to see what its own path MTU discovery found");
  }
  recommend(report);
}

}  // namespace tern::doctor

#include "doctor/relay_findings.hpp"

#include <fmt/format.h>

#include "doctor/relay_probe.hpp"

namespace tern::doctor {
namespace {

struct Builder {
  std::vector<RelayFinding> out;
  void error(std::string code, std::string message) {
    out.push_back({std::move(code), std::move(message), false});
  }
  void warning(std::string code, std::string message) {
    out.push_back({std::move(code), std::move(message), true});
  }
  bool has(std::string_view code) const {
    for (const auto& f : out) {
      if (f.code == code) return true;
    }
    return false;
  }
};

// A check's own words, for the causes that need no more than them.
std::string said(const Check& c) {
  if (c.fix.empty()) return c.detail;
  return c.detail.empty() ? c.fix : c.detail + ": " + c.fix;
}

std::string relayed_text(const RelayUrlResult& r) {
  return r.relayed ? r.relayed->to_string() : std::string("the relayed address");
}

bool relayed_private(const RelayUrlResult& r) {
  return r.relayed && r.server && is_non_public(r.relayed->address) &&
         !is_non_public(r.server->address);
}

std::string span(int64_t seconds) {
  const int64_t s = seconds < 0 ? -seconds : seconds;
  if (s >= 2 * 86400) return fmt::format("{} days", s / 86400);
  if (s >= 2 * 3600) return fmt::format("{} h", s / 3600);
  if (s >= 120) return fmt::format("{} min", s / 60);
  return fmt::format("{} s", s);
}

// The REST credentials' causes: refused (expired by either clock, wrong secret) or accepted
// only thanks to a clock.
void judge_rest(const RelayUrlResult& r, Builder& b) {
  const auto& rest = *r.rest;
  const int64_t left = rest.expiry_unix - rest.local_unix;
  const std::string expiry = utc_text(rest.expiry_unix);
  if (!rest.accepted) {
    if (rest.far_future_accepted == true) {
      b.error("rest_expired",
              fmt::format("the server refused REST credentials valid until {} ({} from now by "
                          "this clock) but accepted ones valid for 30 days: its clock is ahead "
                          "of this machine's by more than {}; synchronise its clock (NTP, "
                          "timedatectl)",
                          expiry, span(left), span(left)));
    } else if (left < 0) {
      b.error("rest_expired",
              fmt::format("the REST credentials expired at {}, {} ago by this machine's clock; "
                          "fetch fresh ones, and if they were just issued the issuer's clock is "
                          "behind: enable NTP on it",
                          expiry, span(left)));
    } else if (rest.far_future_accepted == false || left > 5 * 60) {
      b.error("rest_wrong_secret",
              fmt::format(
                  "the server refused REST credentials still valid for {} by this "
                  "machine's clock{}: the shared secret differs from the server's "
                  "(coturn: static-auth-secret with use-auth-secret; NetBird: "
                  "TURNConfig.Secret)",
                  span(left),
                  rest.far_future_accepted == false ? " and ones valid for 30 days as well" : ""));
    } else {
      b.error("rest_expired",
              fmt::format("the server refused REST credentials that expire in {} by this "
                          "machine's clock: its clock is probably ahead by more than that; "
                          "synchronise the clocks (NTP) or issue credentials that live longer",
                          span(left)));
    }
  } else if (!rest.made_here && left < 0) {
    b.warning("rest_valid_by_clock_skew",
              fmt::format("the server accepted REST credentials that expired at {}, {} ago by "
                          "this machine's clock: its clock is behind by at least that much, so "
                          "they stop working once it is corrected; fetch fresh credentials and "
                          "enable NTP on the server",
                          expiry, span(left)));
  } else if (rest.recently_expired_accepted == true) {
    b.warning("rest_valid_by_clock_skew",
              fmt::format("the server accepted REST credentials that expired {} ago by this "
                          "machine's clock: its clock is behind by more than that, so expired "
                          "credentials keep working there; enable NTP on the server",
                          span(kRestSkewProbeSeconds)));
  }
  if (!rest.made_here && left > kRestMaxAheadSeconds) {
    b.warning("rest_not_yet_valid",
              fmt::format("the REST username says it expires at {}, {} from now: the clock of "
                          "whoever issued it runs ahead (or its TTL is longer than a week), so "
                          "by the right time it is not valid yet for that long; check the "
                          "issuer's clock and its credentials TTL",
                          expiry, span(left)));
  }
}

void judge_allocation_failure(const RelayUrlResult& r, Builder& b) {
  const auto& kind = r.error_kind;
  if (kind == "quota_reached") {
    b.error("relay_quota",
            fmt::format("{}: the server's allocation quota is used up (486); raise coturn's "
                        "user-quota= and total-quota=, or close stale sessions",
                        r.allocation.detail));
  } else if (kind == "insufficient_capacity") {
    b.error("relay_capacity", said(r.allocation));
  } else if (kind == "forbidden") {
    b.error("relay_forbidden", said(r.allocation));
  } else if (!kind.empty()) {
    b.error("relay_" + kind, said(r.allocation));
  } else {
    b.error("relay_allocation_failed", said(r.allocation));
  }
}

void judge_round_trip(const RelayUrlResult& r, Builder& b) {
  const auto& t = r.round_trip_figures;
  const bool none_back = !t || t->stats.received == 0;
  if (!t) {
    // No probe went out: CreatePermission or ChannelBind failed.
    if (r.error_kind == "forbidden") {
      b.error("relay_permission_refused",
              fmt::format("{}: the server refuses to relay to this peer (403): its peer deny "
                          "lists (coturn: denied-peer-ip, no-loopback-peers; allowed-peer-ip "
                          "overrides) cover the peer's address",
                          r.round_trip.detail));
    } else {
      b.error("relay_permission_failed", said(r.round_trip));
    }
    return;
  }
  if (none_back) {
    const uint64_t delivered = r.peer_delivered.value_or(0);
    if (relayed_private(r)) {
      b.error("relay_address_private",
              fmt::format("the relayed address {} is private while the server is reached at "
                          "{}, and no data came back through it: the server is behind 1:1 NAT "
                          "and does not know its public address; set coturn's "
                          "external-ip=PUBLIC/PRIVATE",
                          relayed_text(r), r.server->address.to_string()));
    } else if (delivered > 0) {
      b.error("relay_ports_blocked",
              fmt::format("the allocation works and the relay delivered {} probes to the peer, "
                          "but the peer's echoes to the relayed address {} never came back: a "
                          "firewall drops UDP to the relay port range; open coturn's "
                          "min-port..max-port (default 49152-65535) on the server and in front "
                          "of it",
                          delivered, relayed_text(r)));
    } else {
      b.error("relay_ports_blocked",
              fmt::format("the allocation and the permission work but no data went through the "
                          "relayed address {} at all: a firewall on or in front of the server "
                          "drops the relay port range; open coturn's min-port..max-port (default "
                          "49152-65535) both ways",
                          relayed_text(r)));
    }
    return;
  }
  if (shows_bandwidth_cap(r.rate_steps)) return;  // judged with the steps
  if (r.round_trip.status == CheckStatus::kFail) {
    b.error("relay_loss", said(r.round_trip));
  } else if (r.round_trip.status == CheckStatus::kWarn) {
    b.warning("relay_loss", said(r.round_trip));
  }
}

}  // namespace

bool shows_bandwidth_cap(const std::vector<RateStep>& steps) {
  if (steps.size() < 2) return false;
  const double first = steps.front().loss_percent();
  const double last = steps.back().loss_percent();
  if (last < kCapLossPercent || last < first + kCapLossPercent) return false;
  // Growing (within a little noise) from step to step.
  for (size_t i = 1; i < steps.size(); ++i) {
    if (steps[i].loss_percent() + 2.0 < steps[i - 1].loss_percent()) return false;
  }
  return true;
}

std::vector<RelayFinding> relay_findings(const RelayUrlResult& r) {
  Builder b;
  if (r.resolve.status == CheckStatus::kFail) {
    b.error("relay_unresolved", said(r.resolve));
    return b.out;
  }
  if (r.reachability.status == CheckStatus::kFail) {
    // A server that answered, though never usably, is reachable: the fault is its own.
    b.error(r.error_kind == "server_fault" ? "relay_server_fault" : "relay_unreachable",
            said(r.reachability));
    return b.out;
  }
  if (r.tls.status == CheckStatus::kFail) {
    b.error(r.error_kind == "tls" ? "relay_tls_failed" : "relay_certificate", said(r.tls));
    if (r.error_kind == "tls") return b.out;
  } else if (r.tls.status == CheckStatus::kWarn) {
    b.warning("relay_certificate", said(r.tls));
  }
  if (r.rest) judge_rest(r, b);
  if (r.authentication.status == CheckStatus::kFail) {
    if (!r.rest || r.rest->accepted) {
      const auto& kind = r.error_kind;
      b.error(kind.empty() ? "relay_authentication_failed" : "relay_" + kind,
              said(r.authentication));
    }
    return b.out;
  }
  if (r.allocation.status == CheckStatus::kFail) {
    judge_allocation_failure(r, b);
    return b.out;
  }
  if (r.round_trip.status != CheckStatus::kPass && r.round_trip.status != CheckStatus::kSkipped) {
    judge_round_trip(r, b);
  }
  if (relayed_private(r) && !b.has("relay_address_private")) {
    // Data came back (the peer shares the server's private network), but peers on the
    // internet cannot send to it.
    b.warning("relay_address_private",
              fmt::format("the relayed address {} is private while the server is reached at {}: "
                          "peers on the internet cannot send to it; set coturn's "
                          "external-ip=PUBLIC/PRIVATE",
                          relayed_text(r), r.server->address.to_string()));
  }
  if (shows_bandwidth_cap(r.rate_steps)) {
    std::string losses;
    for (const auto& s : r.rate_steps) {
      if (!losses.empty()) losses += ", ";
      losses += fmt::format("{:.0f} % at {}/s", s.loss_percent(), s.rate_per_second);
    }
    b.warning("relay_bandwidth_cap",
              fmt::format("loss grows with the rate ({}): the relay caps this allocation's "
                          "bandwidth; raise coturn's max-bps (per session) and bps-capacity "
                          "(total), or check the server's uplink",
                          losses));
    // Lost at the rate asked for too: packets are lost now.
    if (r.round_trip.status == CheckStatus::kFail) b.out.back().warning = false;
  }
  if (r.largest_packet.status == CheckStatus::kWarn) {
    b.warning("relay_small_packets", said(r.largest_packet));
  } else if (r.largest_packet.status == CheckStatus::kFail && !b.has("relay_ports_blocked")) {
    b.error("relay_largest_packet_failed", said(r.largest_packet));
  }
  return b.out;
}

}  // namespace tern::doctor

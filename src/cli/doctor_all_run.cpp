#include <algorithm>
#include <exception>
#include <mutex>
#include <optional>
#include <thread>

#include "cli/doctor_all.hpp"
#include "doctor/nat_run.hpp"
#include "doctor/routes_run.hpp"
#include "doctor/turn_url.hpp"
#include "doctor/wg_run.hpp"
#include "io/clock.hpp"

namespace tern::cli {
namespace {

// The STUN servers the NAT check asks: --stun, else every relay reached over UDP.
std::vector<std::string> stun_servers(const DoctorAllOptions& o) {
  if (!o.stun.empty()) return o.stun;
  std::vector<std::string> out;
  for (const auto& text : o.relays) {
    auto url = doctor::parse_turn_url(text);
    if (url && url->transport == doctor::UrlTransport::kUdp) {
      out.push_back("stun:" + url->server());
    }
  }
  return out;
}

// Runs `body` in a thread that never ends the process: a check that throws says so instead.
template <class Body>
std::thread guarded(Body body, std::string& error) {
  return std::thread([body = std::move(body), &error]() mutable {
    try {
      body();
    } catch (const std::exception& e) {
      error = e.what();
    }
  });
}

}  // namespace

doctor::Overview run_doctor_all(const DoctorAllOptions& o, const doctor::Progress& progress) {
  const Instant start = io::monotonic_now();
  std::mutex progress_mutex;
  auto tagged = [&](std::string tag) -> doctor::Progress {
    return [&, tag](std::string_view line) {
      const std::lock_guard lock(progress_mutex);
      if (progress) progress(tag + ": " + std::string(line));
    };
  };
  doctor::OverviewInputs in;
  in.df_ping = o.df_ping;
  in.quick = o.quick;

  // The NAT check: behaviour discovery and the lifetime search, the longest part.
  const auto servers = stun_servers(o);
  std::optional<Result<doctor::NatReport>> nat;
  std::string nat_error;
  std::thread nat_thread;
  if (servers.empty()) {
    in.nat_skipped =
        "no STUN server known: give --stun stun:HOST (one with two addresses tells the most) "
        "or --relay turn:HOST";
  } else {
    doctor::NatCheckOptions n;
    n.servers = servers;
    n.quick = o.quick;
    n.lifetime_max = o.lifetime_max;
    n.keepalive_in_use = o.keepalive;
    nat_thread =
        guarded([n, &nat, p = tagged("nat")] { nat = doctor::check_nat(n, p); }, nat_error);
  }

  // The relays, each in turn, beside the rest.
  std::vector<doctor::RelayUrlResult> relays;
  std::string relay_error;
  std::thread relay_thread;
  if (o.relays.empty()) {
    in.relay_skipped = "no relay given: --relay turn:HOST with --user/--password or --secret";
  } else {
    relay_thread = guarded(
        [&o, &relays, p = tagged("relay")] {
          for (const auto& text : o.relays) {
            auto url = doctor::parse_turn_url(text);
            if (url) relays.push_back(doctor::check_relay(*url, o.relay, p));
          }
        },
        relay_error);
  }

  // The wg window here, then the DF pings through each tunnel.
  doctor::WgCheckOptions w;
  w.duration = o.duration;
  w.df_ping = o.df_ping;
  std::string wg_error;
  doctor::WgSampled sampled;
  try {
    sampled = doctor::sample_wg(w, tagged("wg"));
  } catch (const std::exception& e) {
    wg_error = e.what();
  }

  if (nat_thread.joinable()) nat_thread.join();
  if (relay_thread.joinable()) relay_thread.join();

  std::optional<Duration> lifetime;
  if (nat) {
    lifetime = doctor::wg_nat_lifetime(*nat, o.lifetime_max, &in.nat_lifetime_note);
    if (o.quick) in.nat_lifetime_note.clear();
    in.nat = std::move(nat);
  } else if (!servers.empty()) {
    in.nat_skipped = "the NAT check failed: " + nat_error;
  }
  if (wg_error.empty()) {
    in.wg = doctor::judge_wg(sampled, lifetime);
  } else {
    in.wg_skipped = "reading the WireGuard interfaces failed: " + wg_error;
  }
  if (!o.relays.empty()) {
    if (relay_error.empty()) {
      in.relay = std::move(relays);
    } else {
      in.relay_skipped = "the relay check failed: " + relay_error;
    }
  }
  // The routes of each interface read here (the routes check alone would also take sockets
  // of other network namespaces from /var/run/wireguard).
  const bool any_read = in.wg && std::any_of(in.wg->begin(), in.wg->end(),
                                             [](const auto& r) { return r.error.empty(); });
  if (any_read) {
    doctor::RoutesReport routes;
    for (const auto& r : *in.wg) {
      if (!r.error.empty()) continue;
      doctor::RoutesOptions ro;
      ro.ifname = r.ifname;
      auto one = doctor::run_routes_check(ro, tagged("routes"));
      if (!one.error.empty()) {
        routes.error = one.error;
        break;
      }
      routes.interfaces.insert(routes.interfaces.end(), one.interfaces.begin(),
                               one.interfaces.end());
      for (auto& n : one.notes) {
        if (std::find(routes.notes.begin(), routes.notes.end(), n) == routes.notes.end()) {
          routes.notes.push_back(n);
        }
      }
    }
    in.routes = std::move(routes);
  } else {
    in.routes_skipped = "it checks the overlay's prefixes: no WireGuard interface was read";
  }
  in.elapsed = io::monotonic_now() - start;
  return doctor::assemble_overview(in);
}

}  // namespace tern::cli

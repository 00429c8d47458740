#include "doctor/overview.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "doctor/finding_adapters.hpp"

namespace tern::doctor {
namespace {

constexpr std::string_view kAsRoot = "run it as root (sudo tern doctor)";

bool needs_root(std::string_view error) {
  return error.find("ermission denied") != std::string_view::npos ||
         error.find("not permitted") != std::string_view::npos ||
         error.find("CAP_NET_ADMIN") != std::string_view::npos ||
         error.find("as root") != std::string_view::npos;
}

std::string join(const std::vector<std::string>& parts, std::string_view sep) {
  std::string s;
  for (const auto& p : parts) {
    if (!s.empty()) s += sep;
    s += p;
  }
  return s;
}

CheckRun wg_check(const OverviewInputs& in, bool& any_peer) {
  CheckRun c{"wg", false, "", ""};
  if (!in.wg) {
    c.skipped_because = in.wg_skipped;
    return c;
  }
  if (in.wg->empty()) {
    c.skipped_because =
        "no WireGuard interface here (no UAPI socket in /var/run/wireguard, no kernel "
        "WireGuard interface): run `tern doctor` on a machine of the overlay";
    return c;
  }
  std::vector<std::string> read;
  std::vector<std::string> failed;
  bool root = false;
  for (const auto& r : *in.wg) {
    if (!r.error.empty()) {
      failed.push_back(r.ifname + ": " + r.error);
      root = root || needs_root(r.error);
      continue;
    }
    read.push_back(fmt::format("{} ({}, {} peer(s))", r.ifname, r.source, r.peers.size()));
    any_peer = any_peer || !r.peers.empty();
  }
  c.ran = !read.empty();
  std::string unread = failed.empty() ? "" : "could not read " + join(failed, "; ");
  if (root && unread.find("sudo") == std::string::npos) unread += ": " + std::string(kAsRoot);
  if (!c.ran) {
    c.skipped_because = unread;
  } else {
    c.detail = "read " + join(read, ", ");
    if (!unread.empty()) c.detail += "; " + unread;
  }
  return c;
}

CheckRun mtu_check(const OverviewInputs& in, bool wg_ran) {
  CheckRun c{"mtu", false, "", ""};
  if (!wg_ran) {
    c.skipped_because = "it pings each peer through its WireGuard interface: no interface was read";
    return c;
  }
  if (!in.df_ping) {
    c.skipped_because = "--no-ping; `tern doctor mtu PEER_OR_HOST` measures one path";
    return c;
  }
  std::vector<std::string> pinged;
  std::vector<std::string> failed;
  bool root = false;
  for (const auto& r : *in.wg) {
    for (const auto& p : r.peers) {
      if (!p.ping) continue;
      if (!p.ping->error.empty()) {
        failed.push_back(p.ping->target.to_string() + ": " + p.ping->error);
        root = root || needs_root(p.ping->error);
      } else {
        pinged.push_back(p.ping->target.to_string() + " through " + r.ifname);
      }
    }
  }
  if (pinged.empty() && failed.empty()) {
    c.skipped_because = "no peer has an overlay address (a /32 or /128 allowed IP) to ping";
    return c;
  }
  c.ran = !pinged.empty();
  std::string unpinged = failed.empty() ? "" : "could not ping " + join(failed, "; ");
  if (root && unpinged.find("sudo") == std::string::npos) unpinged += ": " + std::string(kAsRoot);
  if (!c.ran) {
    c.skipped_because = unpinged;
  } else {
    c.detail = "DF ping to " + join(pinged, ", ");
    if (!unpinged.empty()) c.detail += "; " + unpinged;
  }
  return c;
}

// How much a "this server failed" finding says: a server that answered wrongly names the
// server as the cause; one that never answered leaves a firewall possible.
int server_failure_detail(std::string_view code) {
  if (code == "relay_server_fault" || code == "stun_server_fault") return 2;
  if (code == "relay_unreachable" || code == "stun_unreachable") return 1;
  return 0;
}

// One dead server that the NAT check (STUN) and the relay check both failed on is one cause:
// the more specific finding stays (the relay's when they say as much: it knows the TURN
// transports to try) and the other is folded into it.
void fold_same_server(std::vector<Finding>& findings, const OverviewInputs& in) {
  if (!in.nat || !*in.nat || !in.relay) return;
  const auto& stun_server = (*in.nat)->discovery.server;
  if (!stun_server) return;
  auto nat = std::find_if(findings.begin(), findings.end(), [](const Finding& f) {
    return f.check == "nat" && server_failure_detail(f.code) > 0;
  });
  if (nat == findings.end()) return;
  for (const auto& r : *in.relay) {
    if (!r.server || *r.server != *stun_server) continue;
    auto relay = std::find_if(findings.begin(), findings.end(), [&](const Finding& f) {
      return f.check == "relay" && f.subject.name == r.url && server_failure_detail(f.code) > 0;
    });
    if (relay == findings.end()) continue;
    const bool keep_relay = server_failure_detail(relay->code) >= server_failure_detail(nat->code);
    auto kept = keep_relay ? relay : nat;
    auto folded = keep_relay ? nat : relay;
    kept->message += fmt::format(" (the {} check failed on the same server: {}, folded here)",
                                 folded->check, folded->code);
    findings.erase(folded);
    return;
  }
}

}  // namespace

Overview assemble_overview(const OverviewInputs& in) {
  Overview o;
  o.elapsed = in.elapsed;
  o.details = nlohmann::json::object();
  bool any_peer = false;
  o.checks.push_back(wg_check(in, any_peer));
  o.checks.push_back(mtu_check(in, o.checks.back().ran));
  if (in.wg) {
    o.details["wg"] = wg_to_json(*in.wg);
    auto f = findings_from_wg(*in.wg);
    o.findings.insert(o.findings.end(), f.begin(), f.end());
  }

  CheckRun nat{"nat", false, "", ""};
  CheckRun lifetime{"nat_lifetime", false, "", ""};
  if (!in.nat) {
    nat.skipped_because = in.nat_skipped;
    lifetime.skipped_because = in.nat_skipped;
  } else if (!*in.nat) {
    nat.skipped_because = in.nat->error().message;
    lifetime.skipped_because = in.nat->error().message;
  } else {
    const NatReport& r = **in.nat;
    nat.ran = r.discovery.error.empty();
    if (!nat.ran) nat.skipped_because = r.discovery.error;
    nat.detail = fmt::format("mapping {}, filtering {}", mapping_name(r.discovery.mapping),
                             filtering_name(r.discovery.filtering));
    if (!r.lifetime) {
      lifetime.skipped_because = in.quick ? "--quick" : "not asked";
    } else if (!r.lifetime->error.empty()) {
      lifetime.skipped_because = r.lifetime->error;
    } else {
      lifetime.ran = true;
      lifetime.detail = in.nat_lifetime_note;
    }
    o.details["nat"] = nat_to_json(r);
    // The wg check held every peer's keepalive against the lifetime: it says it per peer.
    auto f = findings_from_nat(r, any_peer && lifetime.ran);
    o.findings.insert(o.findings.end(), f.begin(), f.end());
  }
  o.checks.push_back(nat);
  o.checks.push_back(lifetime);
  if (!in.nat_lifetime_note.empty()) o.notes.push_back(in.nat_lifetime_note);

  CheckRun relay{"relay", false, in.relay_skipped, ""};
  if (in.relay) {
    relay.ran = true;
    relay.skipped_because.clear();
    std::vector<std::string> urls;
    for (const auto& r : *in.relay)
      urls.push_back(r.url);
    relay.detail = join(urls, ", ");
    o.details["relay"] = to_json(*in.relay);
    auto f = findings_from_relay(*in.relay);
    o.findings.insert(o.findings.end(), f.begin(), f.end());
  }
  o.checks.push_back(relay);

  CheckRun routes{"routes", false, in.routes_skipped, ""};
  if (in.routes) {
    routes.ran = in.routes->error.empty();
    routes.skipped_because = in.routes->error;
    std::vector<std::string> parts;
    for (const auto& i : in.routes->interfaces) {
      parts.push_back(i.error.empty() ? i.name : i.name + ": " + i.error);
    }
    routes.detail = join(parts, ", ");
    if (!in.routes->notes.empty()) routes.detail += "; " + join(in.routes->notes, "; ");
    o.details["routes"] = routes_to_json(*in.routes);
    auto f = findings_from_routes(*in.routes);
    o.findings.insert(o.findings.end(), f.begin(), f.end());
  }
  o.checks.push_back(routes);

  fold_same_server(o.findings, in);
  order_findings(o.findings);
  return o;
}

std::string render_overview_human(const Overview& o) {
  std::string s = "checks:\n";
  for (const auto& c : o.checks) {
    if (c.ran) {
      s += fmt::format("  {:<13} ran{}\n", c.name, c.detail.empty() ? "" : ": " + c.detail);
    } else {
      s += fmt::format("  {:<13} not run: {}\n", c.name, c.skipped_because);
    }
  }
  for (const auto& n : o.notes)
    s += n + "\n";
  if (o.findings.empty()) {
    s += "\nnothing wrong found\n";
    return s;
  }
  s += fmt::format("\n{} finding(s), most likely cause first:\n", o.findings.size());
  for (size_t i = 0; i < o.findings.size(); ++i) {
    s += fmt::format("{:>2}. {}\n", i + 1, render_line(o.findings[i]));
  }
  return s;
}

nlohmann::json overview_to_json(const Overview& o) {
  nlohmann::json j;
  j["version"] = 1;
  j["healthy"] = o.findings.empty();
  j["findings"] = nlohmann::json::array();
  for (const auto& f : o.findings)
    j["findings"].push_back(to_json(f));
  j["checks"] = nlohmann::json::array();
  for (const auto& c : o.checks) {
    j["checks"].push_back(
        {{"name", c.name},
         {"ran", c.ran},
         {"skipped_because", c.ran ? nlohmann::json(nullptr) : nlohmann::json(c.skipped_because)},
         {"detail", c.detail}});
  }
  j["notes"] = o.notes;
  j["elapsed_s"] = std::chrono::duration<double>(o.elapsed).count();
  j["details"] = o.details;
  return j;
}

}  // namespace tern::doctor

#include "doctor/routes_check.hpp"

#include <algorithm>
#include <set>

#include <fmt/format.h>

#include "crypto/key_encoding.hpp"
#include "doctor/routes_lookup.hpp"

namespace tern::doctor {
namespace {

// An overlay prefix, and where it comes from.
struct Overlay {
  IpPrefix prefix;
  std::string what;  // "wg0 address 10.0.0.1/24", "allowed IP of peer abcd..."
};

// A prefix reached through another interface.
struct Other {
  IpPrefix prefix;
  uint32_t oif = 0;
  std::string what;
  bool connected = false;  // an address of that interface, or a route without a gateway
};

std::string short_key(const crypto::Key& k) {
  return crypto::key_to_base64(k).substr(0, 8) + "...";
}

// Link-local, loopback and multicast prefixes belong to every interface alike.
bool shared_by_design(const IpPrefix& p) {
  const IpAddress a = p.masked().address;
  if (a.is_v4()) {
    const uint8_t b0 = a.data()[0], b1 = a.data()[1];
    return b0 == 127 || (b0 == 169 && b1 == 254) || b0 >= 224;
  }
  const uint8_t b0 = a.data()[0], b1 = a.data()[1];
  const bool loopback = p.length == 128 && a == *IpAddress::parse("::1");
  return loopback || b0 == 0xff || (b0 == 0xfe && (b1 & 0xc0) == 0x80);
}

bool overlaps(const IpPrefix& a, const IpPrefix& b) {
  if (a.address.family() != b.address.family()) return false;
  return a.contains(b.masked().address) || b.contains(a.masked().address);
}

bool is_lo(const NetState& net, uint32_t index) {
  return net.link_name(index) == "lo";
}

std::vector<Overlay> overlay_prefixes(const NetState& net, const WgInterfaceRoutes& wg,
                                      std::optional<uint32_t> ifindex) {
  std::vector<Overlay> out;
  if (ifindex) {
    for (const auto& a : net.addresses) {
      if (a.ifindex != *ifindex || shared_by_design(a.prefix)) continue;
      out.push_back(
          {a.prefix.masked(), fmt::format("{} address {}", wg.name, a.prefix.to_string())});
    }
  }
  for (const auto& p : wg.peers) {
    for (const auto& ip : p.allowed_ips) {
      if (ip.length <= kFullTunnelLength || shared_by_design(ip)) continue;
      out.push_back({ip.masked(), fmt::format("allowed IP {} of peer {}", ip.masked().to_string(),
                                              short_key(p.public_key))});
    }
  }
  // Broadest first, so an overlap is told once, of the widest overlay range it concerns.
  std::stable_sort(out.begin(), out.end(), [](const Overlay& a, const Overlay& b) {
    return a.prefix.length < b.prefix.length;
  });
  return out;
}

std::vector<Other> other_prefixes(const NetState& net, std::optional<uint32_t> wg_index) {
  std::vector<Other> out;
  auto foreign = [&](uint32_t oif) { return oif != wg_index && !is_lo(net, oif); };
  for (const auto& a : net.addresses) {
    if (!foreign(a.ifindex) || shared_by_design(a.prefix)) continue;
    out.push_back({a.prefix.masked(), a.ifindex,
                   fmt::format("{} address {}", net.link_name(a.ifindex), a.prefix.to_string()),
                   true});
  }
  for (const auto& r : net.routes) {
    if (r.kind != RouteKind::kUnicast || r.table == kTableLocal || !r.oif || !foreign(*r.oif)) {
      continue;
    }
    if (r.dst.length <= kFullTunnelLength || shared_by_design(r.dst)) continue;
    const bool known = std::any_of(out.begin(), out.end(), [&](const Other& o) {
      return o.oif == *r.oif && o.prefix == r.dst;
    });
    if (known) continue;
    out.push_back({r.dst, *r.oif, "route " + describe_route(net, r), !r.gateway});
  }
  return out;
}

// The interface a lookup for `a` ends on: "wg0", "eth1", or how it ends otherwise.
std::string ends_on(const NetState& net, const RouteLookup& lk) {
  if (lk.refused) return "a refusing rule";
  if (lk.route == nullptr) return "no route";
  if (auto oif = lookup_oif(lk)) return net.link_name(*oif);
  return describe_route(net, *lk.route);
}

void check_overlaps(const RoutesCheckInput& in, const WgInterfaceRoutes& wg,
                    std::optional<uint32_t> wg_index, const std::vector<Overlay>& overlay,
                    std::vector<Other>& reported, std::vector<RoutesFinding>& out) {
  for (const auto& q : other_prefixes(in.net, wg_index)) {
    for (const auto& o : overlay) {
      if (!overlaps(o.prefix, q.prefix)) continue;
      const bool lan_broader = q.prefix.length < o.prefix.length;
      // A gateway route inside the overlay is route_stolen's.
      if (!q.connected && !lan_broader) continue;
      const IpPrefix both = lan_broader ? o.prefix : q.prefix;
      const auto lk = lookup_route(in.net, both.address, 0);
      const auto oif = lookup_oif(lk);
      const std::string lan = in.net.link_name(q.oif);
      std::string who;
      if (oif && *oif == q.oif) {
        who = fmt::format("{} wins for {}, so overlay peers there are unreachable", lan,
                          both.to_string());
      } else if (oif && oif == wg_index) {
        who = fmt::format("{} wins for {}, so {}'s hosts there are unreachable", wg.name,
                          both.to_string(), lan);
      } else {
        who = fmt::format("{} goes to {}", both.to_string(), ends_on(in.net, lk));
      }
      out.push_back(
          {"route_overlap_lan",
           fmt::format("{}'s overlay {} ({}) overlaps {}'s {} ({}): {}; move the overlay to a "
                       "range the LAN does not use, or narrow the allowed IPs to leave {} out",
                       wg.name, o.prefix.to_string(), o.what, lan, q.prefix.to_string(), q.what,
                       who, both.to_string()),
           {wg.name, o.prefix.to_string(), lan, q.prefix.to_string()}});
      reported.push_back(q);
      break;
    }
  }
}

void check_stolen(const RoutesCheckInput& in, const WgInterfaceRoutes& wg,
                  std::optional<uint32_t> wg_index, const std::vector<Other>& reported,
                  std::vector<RoutesFinding>& out) {
  for (const auto& peer : wg.peers) {
    std::set<std::string> told;
    for (const auto& ip : peer.allowed_ips) {
      if (ip.length <= kFullTunnelLength || shared_by_design(ip)) continue;
      const IpPrefix p = ip.masked();
      std::vector<IpAddress> samples{p.address};
      for (const auto& r : in.net.routes) {
        if (r.table != kTableLocal && r.oif != wg_index && overlaps(r.dst, p) &&
            r.dst.length >= p.length) {
          samples.push_back(r.dst.address);
        }
      }
      for (const auto& a : samples) {
        // Traffic into the tunnel carries the interface's own address as its source, so a
        // `from PREFIX` rule that sends that source elsewhere steals it, and one that sends it
        // into the tunnel routes it; without an address here, the kernel's choice.
        const auto own =
            wg_index ? address_on(in.net, *wg_index, a.family()) : std::optional<IpAddress>();
        const auto lk = own ? lookup_route(in.net, a, 0, own) : lookup_route_unbound(in.net, a, 0);
        std::string how;
        std::optional<uint8_t> length;
        if (lk.refused) {
          how = fmt::format("policy rule {} refuses it", lk.rule_priority.value_or(0));
        } else if (lk.route == nullptr) {
          how = "no route leads anywhere";
        } else {
          const NetRoute& r = *lk.route;
          if (r.kind == RouteKind::kLocal || r.kind == RouteKind::kBroadcast ||
              r.kind == RouteKind::kMulticast || r.kind == RouteKind::kAnycast) {
            continue;
          }
          if (r.kind == RouteKind::kUnicast && r.oif == wg_index) continue;
          const bool known = std::any_of(reported.begin(), reported.end(), [&](const Other& o) {
            return o.prefix == r.dst && r.oif && o.oif == *r.oif;
          });
          if (known) continue;
          how = "`" + describe_route(in.net, r) + "`";
          length = r.dst.length;
        }
        if (!told.insert(how).second) continue;
        const bool more_specific = length && *length >= p.length;
        const std::string part =
            more_specific && lk.route ? lk.route->dst.to_string() : p.to_string();
        std::string message;
        if (more_specific) {
          const std::string what =
              part == p.to_string()
                  ? fmt::format("peer {}'s allowed IP {}", short_key(peer.public_key), part)
                  : fmt::format("{} of peer {}'s allowed IP {}", part, short_key(peer.public_key),
                                p.to_string());
          message = fmt::format(
              "{} goes by {} (found first: more specific, or in a table a rule reaches "
              "earlier), not into {}: delete that route, or take {} out of the peer's allowed IPs",
              what, how, wg.name, part);
        } else {
          message = fmt::format(
              "peer {}'s allowed IP {} is not routed into {} ({}): add `ip route add {} dev {}`",
              short_key(peer.public_key), p.to_string(), wg.name,
              lk.route ? "it goes by " + how : how, p.to_string(), wg.name);
        }
        out.push_back({"route_stolen",
                       std::move(message),
                       {wg.name, crypto::key_to_base64(peer.public_key), p.to_string(),
                        lk.route ? describe_route(in.net, *lk.route) : how}});
      }
    }
  }
}

void check_endpoints(const RoutesCheckInput& in, const WgInterfaceRoutes& wg,
                     std::optional<uint32_t> wg_index, std::vector<RoutesFinding>& out) {
  if (!wg_index) return;
  for (const auto& peer : wg.peers) {
    if (!peer.endpoint || peer.endpoint->address.is_unspecified()) continue;
    const IpAddress e = peer.endpoint->address.unmapped();
    // WireGuard's socket is unbound: the source the kernel picks can meet a `from` rule.
    const auto lk = lookup_route_unbound(in.net, e, wg.fwmark);
    if (lookup_oif(lk) != wg_index) continue;
    const std::string mark =
        wg.fwmark != 0 ? fmt::format(" even with {}'s fwmark {:#x}", wg.name, wg.fwmark) : "";
    out.push_back(
        {"endpoint_via_tunnel",
         fmt::format("peer {}'s endpoint {} is routed into {} itself{} by `{}` (rule {}): its "
                     "encrypted packets would loop; route {} via the underlay (`ip route add "
                     "{}/{} via GATEWAY dev ETH`), or give {} a fwmark and a `not fwmark` rule "
                     "as wg-quick does",
                     short_key(peer.public_key), peer.endpoint->to_string(), wg.name, mark,
                     describe_route(in.net, *lk.route), lk.rule_priority.value_or(0), e.to_string(),
                     e.to_string(), e.bits(), wg.name),
         {wg.name, crypto::key_to_base64(peer.public_key), peer.endpoint->to_string(),
          describe_route(in.net, *lk.route)}});
  }
}

void check_rp_filter(const RoutesCheckInput& in, const WgInterfaceRoutes& wg,
                     std::optional<uint32_t> wg_index, std::vector<RoutesFinding>& out) {
  const int all = in.rp_filter_all.value_or(0);
  auto it = in.rp_filter.find(wg.name);
  const int own = it != in.rp_filter.end() ? it->second : 0;
  // The kernel uses the larger of the two; 1 is strict, 2 loose.
  if (std::max(all, own) != 1) return;
  std::vector<std::string> elsewhere;
  std::string via;
  for (const auto& peer : wg.peers) {
    for (const auto& ip : peer.allowed_ips) {
      if (!ip.address.is_v4() || ip.length <= kFullTunnelLength) continue;
      const auto lk = lookup_route(in.net, ip.masked().address, 0);
      if (lk.route && lk.route->kind != RouteKind::kUnicast && !lk.refused) continue;
      const auto oif = lookup_oif(lk);
      if (oif && oif == wg_index) continue;
      elsewhere.push_back(ip.masked().to_string());
      if (via.empty()) {
        via = lk.route == nullptr && !lk.refused ? std::string("does not exist")
                                                 : "leaves by " + ends_on(in.net, lk);
      }
    }
  }
  if (elsewhere.empty()) return;
  const std::string where = all == 1 ? "all" : wg.name;
  const std::string list = fmt::format("{}", fmt::join(elsewhere, ", "));
  std::vector<std::string> objects{wg.name, "net.ipv4.conf." + where + ".rp_filter"};
  objects.insert(objects.end(), elsewhere.begin(), elsewhere.end());
  out.push_back(
      {"rp_filter_strict",
       fmt::format("net.ipv4.conf.{}.rp_filter = 1 (strict) and the route back to {} (peers' "
                   "allowed IPs) {}, not through {}: packets from there arriving on {} are "
                   "dropped; set rp_filter = 2 (loose) for all and {}, or route {} into {}",
                   where, list, via, wg.name, wg.name, wg.name, list, wg.name),
       std::move(objects)});
}

void check_firewall(const RoutesCheckInput& in, const WgInterfaceRoutes& wg,
                    std::vector<RoutesFinding>& out) {
  if (!in.nft || wg.listen_port == 0) return;
  for (const auto& r : nft_drops_for_port(*in.nft, wg.listen_port)) {
    const std::string count =
        r.packets ? fmt::format(" ({} packets so far)", *r.packets) : std::string();
    const std::string cond = r.conditions.empty() ? std::string()
                                                  : fmt::format(" when they also match {}",
                                                                fmt::join(r.conditions, ", "));
    out.push_back({"firewall_drops_port",
                   fmt::format("{} rule `{}`{} {}s {}'s UDP listen port {}{}: peers cannot reach "
                               "this side first; delete it, or accept udp dport {} before it",
                               r.tool, r.describe(), count, r.verdict, wg.name, wg.listen_port,
                               cond, wg.listen_port),
                   {wg.name, fmt::format("udp/{}", wg.listen_port), r.describe()}});
  }
}

}  // namespace

RoutesInterfaceReport check_routes_interface(const RoutesCheckInput& in,
                                             const WgInterfaceRoutes& wg) {
  RoutesInterfaceReport r;
  r.name = wg.name;
  r.listen_port = wg.listen_port;
  r.fwmark = wg.fwmark;
  const auto wg_index = in.net.link_index(wg.name);
  const auto overlay = overlay_prefixes(in.net, wg, wg_index);
  for (const auto& o : overlay) {
    if (std::find(r.overlay.begin(), r.overlay.end(), o.prefix) == r.overlay.end()) {
      r.overlay.push_back(o.prefix);
    }
  }
  std::vector<Other> reported;
  check_overlaps(in, wg, wg_index, overlay, reported, r.findings);
  check_stolen(in, wg, wg_index, reported, r.findings);
  check_endpoints(in, wg, wg_index, r.findings);
  check_rp_filter(in, wg, wg_index, r.findings);
  check_firewall(in, wg, r.findings);
  return r;
}

RoutesReport check_routes(const RoutesCheckInput& input) {
  RoutesReport out;
  for (const auto& wg : input.interfaces)
    out.interfaces.push_back(check_routes_interface(input, wg));
  return out;
}

bool has_findings(const RoutesReport& report) {
  return std::any_of(report.interfaces.begin(), report.interfaces.end(),
                     [](const auto& i) { return !i.findings.empty(); });
}

}  // namespace tern::doctor

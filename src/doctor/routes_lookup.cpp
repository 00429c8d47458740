#include "doctor/routes_lookup.hpp"

#include <algorithm>
#include <vector>

#include <fmt/format.h>

namespace tern::doctor {
namespace {

std::vector<NetRule> default_rules(IpAddress::Family family) {
  std::vector<NetRule> rules;
  for (auto [priority, table] : {std::pair<uint32_t, uint32_t>{0, kTableLocal},
                                 {32766, kTableMain},
                                 {32767, kTableDefault}}) {
    NetRule r;
    r.family = family;
    r.priority = priority;
    r.table = table;
    rules.push_back(r);
  }
  return rules;
}

// fib_rule_match() for a packet sent from this host: iif is lo, no oif, the source if known.
bool rule_matches(const NetRule& r, const IpAddress& dst, uint32_t fwmark,
                  const std::optional<IpAddress>& src) {
  bool match = true;
  if (!r.iifname.empty() && r.iifname != "lo") match = false;
  if (!r.oifname.empty()) match = false;
  const uint32_t mask = r.fwmask.value_or(r.fwmark ? 0xffffffff : 0);
  if (((r.fwmark.value_or(0) ^ fwmark) & mask) != 0) match = false;
  if (r.src && r.src->length > 0 && (!src || !r.src->contains(*src))) match = false;
  if (r.dst && !r.dst->contains(dst)) match = false;
  return r.invert ? !match : match;
}

bool refusing(RouteKind k) {
  return k == RouteKind::kBlackhole || k == RouteKind::kUnreachable || k == RouteKind::kProhibit;
}

}  // namespace

const NetRoute* lookup_table(const NetState& net, uint32_t table, const IpAddress& dst) {
  const NetRoute* best = nullptr;
  for (const auto& r : net.routes) {
    if (r.table != table || r.dead || r.tos != 0 || r.kind == RouteKind::kUnspec) continue;
    if (r.dst.address.family() != dst.family() || !r.dst.contains(dst)) continue;
    if (best == nullptr || r.dst.length > best->dst.length ||
        (r.dst.length == best->dst.length && r.metric < best->metric)) {
      best = &r;
    }
  }
  return best;
}

RouteLookup lookup_route(const NetState& net, const IpAddress& dst, uint32_t fwmark,
                         const std::optional<IpAddress>& src) {
  std::vector<NetRule> rules;
  for (const auto& r : net.rules) {
    if (r.family == dst.family()) rules.push_back(r);
  }
  if (rules.empty()) rules = default_rules(dst.family());
  std::stable_sort(rules.begin(), rules.end(),
                   [](const NetRule& a, const NetRule& b) { return a.priority < b.priority; });
  RouteLookup out;
  for (size_t i = 0; i < rules.size(); ++i) {
    const NetRule& r = rules[i];
    if (r.other_selectors || !rule_matches(r, dst, fwmark, src)) continue;
    switch (r.action) {
      case RuleAction::kToTable: {
        const NetRoute* route = lookup_table(net, r.table, dst);
        if (route == nullptr || route->kind == RouteKind::kThrow) continue;
        if (!refusing(route->kind) && r.suppress_prefixlength &&
            route->dst.length <= *r.suppress_prefixlength) {
          continue;
        }
        out.route = route;
        out.rule_priority = r.priority;
        return out;
      }
      case RuleAction::kGoto: {
        if (!r.goto_target || *r.goto_target <= r.priority) continue;
        size_t j = i + 1;
        while (j < rules.size() && rules[j].priority < *r.goto_target)
          ++j;
        i = j - 1;  // the loop's ++i lands on the target
        continue;
      }
      case RuleAction::kBlackhole:
      case RuleAction::kUnreachable:
      case RuleAction::kProhibit:
        out.refused = r.action;
        out.rule_priority = r.priority;
        return out;
      default:
        continue;
    }
  }
  return out;
}

std::optional<IpAddress> address_on(const NetState& net, uint32_t ifindex,
                                    IpAddress::Family family) {
  for (const auto& a : net.addresses) {
    if (a.ifindex == ifindex && a.prefix.address.family() == family) return a.prefix.address;
  }
  return std::nullopt;
}

RouteLookup lookup_route_unbound(const NetState& net, const IpAddress& dst, uint32_t fwmark) {
  const RouteLookup first = lookup_route(net, dst, fwmark);
  const auto oif = lookup_oif(first);
  if (!oif) return first;
  const auto src = address_on(net, *oif, dst.family());
  if (!src) return first;
  return lookup_route(net, dst, fwmark, src);
}

std::optional<uint32_t> lookup_oif(const RouteLookup& lookup) {
  if (lookup.route == nullptr || lookup.route->kind != RouteKind::kUnicast) return std::nullopt;
  return lookup.route->oif;
}

std::string describe_route(const NetState& net, const NetRoute& r) {
  std::string s;
  switch (r.kind) {
    case RouteKind::kLocal:
      s = "local ";
      break;
    case RouteKind::kBroadcast:
      s = "broadcast ";
      break;
    case RouteKind::kBlackhole:
      s = "blackhole ";
      break;
    case RouteKind::kUnreachable:
      s = "unreachable ";
      break;
    case RouteKind::kProhibit:
      s = "prohibit ";
      break;
    case RouteKind::kThrow:
      s = "throw ";
      break;
    default:
      break;
  }
  s += r.dst.length == 0 ? std::string("default") : r.dst.to_string();
  if (r.gateway) s += " via " + r.gateway->to_string();
  if (r.oif) s += " dev " + net.link_name(*r.oif);
  if (r.table == kTableLocal) {
    s += " table local";
  } else if (r.table != kTableMain) {
    s += fmt::format(" table {}", r.table);
  }
  if (r.metric != 0) s += fmt::format(" metric {}", r.metric);
  return s;
}

}  // namespace tern::doctor

#include "doctor/routes_nft.hpp"

#include <algorithm>
#include <map>
#include <set>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace tern::doctor {
namespace {

using nlohmann::json;

// Chains are named within a family and a table.
using ChainKey = std::tuple<std::string, std::string, std::string>;

std::string str(const json& j, const char* key) {
  if (!j.is_object()) return "";
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : "";
}

std::optional<uint64_t> number(const json& j, const char* key) {
  if (!j.is_object()) return std::nullopt;
  auto it = j.find(key);
  if (it == j.end() || !it->is_number_unsigned()) return std::nullopt;
  return it->get<uint64_t>();
}

std::optional<uint16_t> port_value(const json& j) {
  if (j.is_number_unsigned() && j.get<uint64_t>() <= 65535) {
    return static_cast<uint16_t>(j.get<uint64_t>());
  }
  return std::nullopt;
}

// 51820, {"range": [a, b]}, {"set": [...]}: the port ranges, or nullopt for what cannot be
// told here (a named set "@name", a map, a negation).
std::optional<std::vector<std::pair<uint16_t, uint16_t>>> port_ranges(const json& right) {
  std::vector<std::pair<uint16_t, uint16_t>> out;
  auto one = [&](const json& v) {
    if (auto p = port_value(v)) {
      out.emplace_back(*p, *p);
      return true;
    }
    if (v.is_object() && v.contains("range") && v["range"].is_array() && v["range"].size() == 2) {
      auto lo = port_value(v["range"][0]), hi = port_value(v["range"][1]);
      if (lo && hi && *lo <= *hi) {
        out.emplace_back(*lo, *hi);
        return true;
      }
    }
    return false;
  };
  if (right.is_object() && right.contains("set") && right["set"].is_array()) {
    for (const auto& v : right["set"]) {
      if (!one(v)) return std::nullopt;
    }
    return out;
  }
  if (!one(right)) return std::nullopt;
  return out;
}

// What the left side of a match looks at: "udp dport", "th dport", "meta l4proto", ...
std::string subject(const json& left) {
  if (!left.is_object()) return "?";
  if (left.contains("payload")) {
    const auto& p = left["payload"];
    const std::string proto = str(p, "protocol"), field = str(p, "field");
    if (!proto.empty()) return proto + " " + field;
    return "payload";
  }
  if (left.contains("meta")) return "meta " + str(left["meta"], "key");
  if (left.contains("ct")) return "ct " + str(left["ct"], "key");
  if (!left.empty()) return left.begin().key();
  return "?";
}

bool is_udp_value(const json& v) {
  return (v.is_string() && v.get<std::string>() == "udp") ||
         (v.is_number_unsigned() && v.get<uint64_t>() == 17);
}

struct ParsedRule {
  NftPortRule rule;
  bool udp = false;
  bool port_unknown = false;  // a port match we cannot read: leave the rule alone
  std::vector<std::string> jumps;
};

ParsedRule parse_rule(const json& r) {
  ParsedRule out;
  out.rule.family = str(r, "family");
  out.rule.table = str(r, "table");
  out.rule.chain = str(r, "chain");
  out.rule.handle = number(r, "handle");
  const json* exprs = nullptr;
  if (auto it = r.find("expr"); it != r.end() && it->is_array()) exprs = &*it;
  if (exprs == nullptr) return out;
  for (const auto& e : *exprs) {
    if (!e.is_object() || e.empty()) continue;
    const std::string key = e.begin().key();
    const json& v = e.begin().value();
    if (key == "match" && v.is_object()) {
      const std::string what = v.contains("left") ? subject(v["left"]) : "?";
      const std::string op = str(v, "op");
      const json right = v.contains("right") ? v["right"] : json();
      const bool equal = op.empty() || op == "==" || op == "in";
      if (what == "udp dport" || what == "th dport") {
        if (what == "udp dport") out.udp = true;
        auto ranges = equal ? port_ranges(right) : std::nullopt;
        if (!ranges) {
          out.port_unknown = true;
        } else {
          out.rule.ports = std::move(ranges);
        }
      } else if ((what == "meta l4proto" || what == "ip protocol" || what == "ip6 nexthdr") &&
                 equal && is_udp_value(right)) {
        out.udp = true;
      } else {
        out.rule.conditions.push_back(what);
      }
    } else if (key == "counter") {
      out.rule.packets = number(v, "packets");
    } else if (key == "accept" || key == "drop" || key == "reject") {
      out.rule.verdict = key;
    } else if (key == "jump" || key == "goto") {
      const std::string target = str(v, "target");
      if (!target.empty()) out.jumps.push_back(target);
    } else if (key != "log" && key != "comment") {
      out.rule.conditions.push_back(key);  // limit, quota, xt, ...: the rule may not apply
    }
  }
  return out;
}

}  // namespace

std::string NftPortRule::describe() const {
  std::string s = fmt::format("{} {} {}", family, table, chain);
  if (handle) s += fmt::format(" (handle {})", *handle);
  s += ": ";
  for (const auto& c : conditions)
    s += c + " ... ";
  if (ports) {
    s += "udp dport ";
    std::vector<std::string> parts;
    for (auto [lo, hi] : *ports) {
      parts.push_back(lo == hi ? fmt::format("{}", lo) : fmt::format("{}-{}", lo, hi));
    }
    s += parts.size() == 1 ? parts[0] : "{ " + fmt::format("{}", fmt::join(parts, ", ")) + " }";
  } else {
    s += "meta l4proto udp";
  }
  s += " " + verdict;
  return s;
}

bool NftPortRule::covers(uint16_t port) const {
  if (!ports) return true;
  return std::any_of(ports->begin(), ports->end(),
                     [port](auto r) { return r.first <= port && port <= r.second; });
}

Result<std::vector<NftPortRule>> parse_nft_port_rules(std::string_view json_text) {
  const json doc = json::parse(json_text.begin(), json_text.end(), nullptr, false);
  if (doc.is_discarded() || !doc.is_object() || !doc.contains("nftables") ||
      !doc["nftables"].is_array()) {
    return fail("nft -j list ruleset: not nftables JSON (no \"nftables\" array)");
  }
  std::set<ChainKey> inbound;
  std::vector<ParsedRule> rules;
  for (const auto& item : doc["nftables"]) {
    if (!item.is_object()) continue;
    if (auto c = item.find("chain"); c != item.end() && c->is_object()) {
      const std::string hook = str(*c, "hook");
      if (hook == "input" || hook == "prerouting" || hook == "ingress") {
        inbound.insert({str(*c, "family"), str(*c, "table"), str(*c, "name")});
      }
    } else if (auto r = item.find("rule"); r != item.end() && r->is_object()) {
      rules.push_back(parse_rule(*r));
      rules.back().rule.position = rules.size();
    }
  }
  // Chains jumped to from an inbound chain are inbound too (iptables' user chains).
  for (bool grew = true; grew;) {
    grew = false;
    for (const auto& p : rules) {
      if (!inbound.contains({p.rule.family, p.rule.table, p.rule.chain})) continue;
      for (const auto& target : p.jumps) {
        grew |= inbound.insert({p.rule.family, p.rule.table, target}).second;
      }
    }
  }
  std::vector<NftPortRule> out;
  for (auto& p : rules) {
    if (p.rule.verdict.empty() || p.port_unknown) continue;
    if (p.rule.family == "bridge" || p.rule.family == "arp") continue;
    if (!inbound.contains({p.rule.family, p.rule.table, p.rule.chain})) continue;
    if (!p.rule.ports && !(p.udp && p.rule.conditions.empty())) continue;
    out.push_back(std::move(p.rule));
  }
  return out;
}

std::vector<NftPortRule> nft_drops_for_port(const std::vector<NftPortRule>& rules, uint16_t port) {
  std::set<ChainKey> accepted;  // chains where an unconditional accept came first
  std::vector<NftPortRule> out;
  for (const auto& r : rules) {
    const ChainKey key{r.family, r.table, r.chain};
    if (!r.covers(port) || accepted.contains(key)) continue;
    if (r.verdict == "accept") {
      if (r.conditions.empty()) accepted.insert(key);
      continue;
    }
    out.push_back(r);
  }
  return out;
}

}  // namespace tern::doctor

#include "doctor/routes_iptables.hpp"

#include <charconv>
#include <optional>
#include <set>
#include <string>
#include <utility>

namespace tern::doctor {
namespace {

using Ports = std::vector<std::pair<uint16_t, uint16_t>>;

// Whitespace-separated words; a double-quoted word (a --comment) is one.
std::vector<std::string_view> words(std::string_view line) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t'))
      ++i;
    if (i >= line.size()) break;
    size_t end = i;
    if (line[i] == '"') {
      end = line.find('"', i + 1);
      end = end == std::string_view::npos ? line.size() : end + 1;
    } else {
      while (end < line.size() && line[end] != ' ' && line[end] != '\t')
        ++end;
    }
    out.push_back(line.substr(i, end - i));
    i = end;
  }
  return out;
}

std::optional<uint64_t> to_u64(std::string_view s) {
  uint64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || s.empty()) return std::nullopt;
  return v;
}

std::optional<uint16_t> to_port(std::string_view s) {
  auto v = to_u64(s);
  if (!v || *v > 65535) return std::nullopt;
  return static_cast<uint16_t>(*v);
}

// "51820", "1000:2000" (a missing bound is 0 or 65535), and for --dports "a,b:c".
std::optional<Ports> port_list(std::string_view text) {
  Ports out;
  while (!text.empty()) {
    const size_t comma = text.find(',');
    const std::string_view one = text.substr(0, comma);
    const size_t colon = one.find(':');
    if (colon == std::string_view::npos) {
      auto p = to_port(one);
      if (!p) return std::nullopt;
      out.emplace_back(*p, *p);
    } else {
      const auto lo_text = one.substr(0, colon), hi_text = one.substr(colon + 1);
      auto lo = lo_text.empty() ? std::optional<uint16_t>(0) : to_port(lo_text);
      auto hi = hi_text.empty() ? std::optional<uint16_t>(65535) : to_port(hi_text);
      if (!lo || !hi || *lo > *hi) return std::nullopt;
      out.emplace_back(*lo, *hi);
    }
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  if (out.empty()) return std::nullopt;
  return out;
}

// Options that take no value or one value and say nothing about whether the rule applies.
bool is_module_load(std::string_view w) {
  return w == "-m" || w == "--match";
}

struct Parsed {
  NftPortRule rule;
  bool udp = false;
  bool other_protocol = false;
  bool unreadable = false;  // a negation or a port we cannot read: leave the rule alone
  std::string jump;
};

// One "[pkts:bytes] -A CHAIN ..." line (the counter is optional).
std::optional<Parsed> parse_rule(std::string_view line) {
  auto w = words(line);
  Parsed p;
  size_t i = 0;
  if (i < w.size() && w[i].size() > 2 && w[i].front() == '[' && w[i].back() == ']') {
    const auto inner = w[i].substr(1, w[i].size() - 2);
    p.rule.packets = to_u64(inner.substr(0, inner.find(':')));
    ++i;
  }
  if (i + 1 >= w.size() || w[i] != "-A") return std::nullopt;
  p.rule.chain = std::string(w[i + 1]);
  for (i += 2; i < w.size(); ++i) {
    const auto opt = w[i];
    const bool has_value = i + 1 < w.size();
    if (opt == "!") {
      p.unreadable = true;  // a negated match: what it lets through is not told here
      continue;
    }
    if (opt == "-p" || opt == "--protocol") {
      if (!has_value) return std::nullopt;
      const auto proto = w[++i];
      if (proto == "udp" || proto == "17") {
        p.udp = true;
      } else if (proto != "all" && proto != "0") {
        p.other_protocol = true;
      }
    } else if (opt == "--dport" || opt == "--destination-port" || opt == "--dports" ||
               opt == "--destination-ports") {
      if (!has_value) return std::nullopt;
      auto ports = port_list(w[++i]);
      if (!ports) p.unreadable = true;
      p.rule.ports = std::move(ports);
    } else if (opt == "-j" || opt == "--jump" || opt == "-g" || opt == "--goto") {
      if (!has_value) return std::nullopt;
      const auto target = w[++i];
      if (target == "ACCEPT") {
        p.rule.verdict = "accept";
      } else if (target == "DROP") {
        p.rule.verdict = "drop";
      } else if (target == "REJECT") {
        p.rule.verdict = "reject";
      } else if (target != "LOG" && target != "RETURN" && target != "NFLOG") {
        p.jump = std::string(target);
      }
    } else if (is_module_load(opt)) {
      if (has_value) ++i;  // "-m udp", "-m multiport": the match's options follow
    } else if (opt == "--comment") {
      if (has_value) ++i;
    } else if (opt.starts_with("-")) {
      // -s, -d, -i, --sport, --ctstate, --reject-with ...: a condition, with its value.
      if (opt == "--reject-with") {
        if (has_value) ++i;
        continue;
      }
      p.rule.conditions.push_back(std::string(opt));
      while (i + 1 < w.size() && !w[i + 1].starts_with("-") && w[i + 1] != "!")
        ++i;
    }
  }
  return p;
}

bool inbound_builtin(std::string_view table, std::string_view chain) {
  if (table == "filter") return chain == "INPUT";
  if (table == "raw") return chain == "PREROUTING";
  if (table == "mangle") return chain == "PREROUTING" || chain == "INPUT";
  return false;
}

}  // namespace

std::vector<NftPortRule> parse_iptables_port_rules(std::string_view text, std::string_view family) {
  std::string table;
  std::vector<Parsed> rules;
  std::set<std::pair<std::string, std::string>> inbound;  // (table, chain)
  size_t position = 0;
  while (!text.empty()) {
    const size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty() || line.front() == '#') continue;
    if (line.front() == '*') {
      table = std::string(line.substr(1));
      continue;
    }
    if (line == "COMMIT") {
      table.clear();
      continue;
    }
    if (line.front() == ':' || table.empty()) continue;
    auto p = parse_rule(line);
    if (!p) continue;
    p->rule.family = std::string(family);
    p->rule.table = table;
    p->rule.tool = "iptables-legacy";
    p->rule.position = ++position;
    if (inbound_builtin(table, p->rule.chain)) inbound.insert({table, p->rule.chain});
    rules.push_back(std::move(*p));
  }
  // User chains jumped to from an inbound chain are inbound too.
  for (bool grew = true; grew;) {
    grew = false;
    for (const auto& p : rules) {
      if (p.jump.empty() || !inbound.contains({p.rule.table, p.rule.chain})) continue;
      grew |= inbound.insert({p.rule.table, p.jump}).second;
    }
  }
  std::vector<NftPortRule> out;
  for (auto& p : rules) {
    if (p.rule.verdict.empty() || p.unreadable || p.other_protocol) continue;
    if (!inbound.contains({p.rule.table, p.rule.chain})) continue;
    // A port match needs -p udp; without a port, only "drop all UDP" with nothing else.
    if (p.rule.ports ? !p.udp : !(p.udp && p.rule.conditions.empty())) continue;
    out.push_back(std::move(p.rule));
  }
  return out;
}

}  // namespace tern::doctor

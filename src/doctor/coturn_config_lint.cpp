#include "doctor/coturn_config_lint.hpp"

#include <algorithm>
#include <charconv>

#include <fmt/format.h>

#include "doctor/relay_probe.hpp"

namespace tern::doctor {
namespace {

std::optional<uint16_t> port_value(const CoturnConfig& c, std::string_view name) {
  auto v = c.value(name);
  if (!v) return std::nullopt;
  unsigned n = 0;
  auto [end, ec] = std::from_chars(v->data(), v->data() + v->size(), n);
  if (ec != std::errc{} || end != v->data() + v->size() || n == 0 || n > 65535) {
    return std::nullopt;
  }
  return static_cast<uint16_t>(n);
}

// external-ip=PUBLIC or PUBLIC/PRIVATE.
void lint_addresses(const CoturnConfig& c, std::vector<RelayFinding>& out) {
  const auto externals = c.values("external-ip");
  for (const auto& e : externals) {
    const auto pub = IpAddress::parse(e.substr(0, e.find('/')));
    if (!pub) {
      out.push_back({"coturn_external_ip_invalid",
                     fmt::format("external-ip={} is not an address: write "
                                 "external-ip=PUBLIC/PRIVATE",
                                 e),
                     false});
    } else if (is_non_public(*pub)) {
      out.push_back({"coturn_external_ip_private",
                     fmt::format("external-ip={} names a private address as the public one: "
                                 "peers on the internet cannot send to it; put the NAT's public "
                                 "address first (external-ip=PUBLIC/PRIVATE)",
                                 e),
                     false});
    }
  }
  if (!externals.empty()) return;
  std::vector<std::string> private_ones;
  for (const auto* name : {"relay-ip", "listening-ip"}) {
    for (const auto& v : c.values(name)) {
      auto a = IpAddress::parse(v);
      if (a && is_non_public(*a) && !a->is_unspecified()) {
        private_ones.push_back(fmt::format("{}={}", name, v));
      }
    }
  }
  if (private_ones.empty()) return;
  std::string list;
  for (const auto& p : private_ones)
    list += (list.empty() ? "" : ", ") + p;
  out.push_back({"coturn_external_ip_missing",
                 fmt::format("the server listens and relays on a private address ({}) and has "
                             "no external-ip: behind 1:1 NAT it hands out private relayed "
                             "addresses that peers cannot reach; add "
                             "external-ip=PUBLIC/PRIVATE",
                             list),
                 false});
}

void lint_ports(const CoturnConfig& c, const CoturnLintInput& in, std::vector<RelayFinding>& out) {
  const auto [lo, hi] = relay_port_range(c);
  if ((c.has("min-port") && !port_value(c, "min-port")) ||
      (c.has("max-port") && !port_value(c, "max-port")) || lo > hi) {
    out.push_back({"coturn_port_range_invalid",
                   fmt::format("the relay port range min-port={} max-port={} is not a range of "
                               "ports: write min-port and max-port between 1 and 65535, min "
                               "first",
                               c.value("min-port").value_or(""), c.value("max-port").value_or("")),
                   false});
    return;
  }
  if (!in.firewall) return;
  for (const auto& d : *in.firewall) {
    if (d.last_port < lo || d.first_port > hi) continue;
    const bool all = d.first_port <= lo && d.last_port >= hi;
    out.push_back(
        {"coturn_ports_firewalled",
         fmt::format("the firewall drops UDP {}-{}, {} of the relay port range "
                     "{}-{} (min-port/max-port): allocations work but peers' data "
                     "never reaches them; accept UDP {}-{} before that rule ({})",
                     d.first_port, d.last_port, all ? "all" : "part", lo, hi, lo, hi, d.rule),
         false});
  }
}

void lint_auth(const CoturnConfig& c, const CoturnLintInput& in, std::vector<RelayFinding>& out) {
  const bool rest = c.has("use-auth-secret");
  const bool long_term = c.has("lt-cred-mech") || rest || c.has("user");
  if (long_term && !c.has("realm")) {
    out.push_back({"coturn_realm_missing",
                   "no realm= with long-term credentials: clients' 401 challenges carry a realm "
                   "they were not configured for and coturn's users are keyed by realm; set "
                   "realm=YOUR.DOMAIN",
                   false});
  }
  const auto secrets = c.values("static-auth-secret");
  if (rest && secrets.empty() && !c.has("userdb") && !c.has("redis-userdb") &&
      !c.has("psql-userdb") && !c.has("mysql-userdb") && !c.has("mongo-userdb")) {
    out.push_back({"coturn_secret_missing",
                   "use-auth-secret without static-auth-secret (or a database holding it): no "
                   "REST credential can be checked; set static-auth-secret=SECRET",
                   false});
  }
  if (!in.secret) return;
  if (!rest) {
    out.push_back({"coturn_rest_disabled",
                   "the overlay uses a REST shared secret but this server has no "
                   "use-auth-secret: its time-limited credentials are refused; add "
                   "use-auth-secret and static-auth-secret=SECRET",
                   false});
    return;
  }
  if (secrets.empty()) return;
  for (const auto& s : secrets) {
    if (s == *in.secret) return;
  }
  out.push_back({"coturn_secret_mismatch",
                 "static-auth-secret differs from the overlay's shared secret: every REST "
                 "credential is refused as wrong; make them the same (NetBird: TURNConfig.Secret)",
                 false});
}

void lint_certificate(const CoturnConfig& c, const CoturnLintInput& in,
                      std::vector<RelayFinding>& out) {
  if (!c.has("cert") || !in.certificate) return;
  const auto& cert = *in.certificate;
  if (!cert.error.empty()) {
    out.push_back(
        {"coturn_certificate_unreadable",
         fmt::format("cert={}: {}; TLS clients (turns:) cannot connect", cert.path, cert.error),
         false});
    return;
  }
  const int64_t left = cert.not_after_unix - in.now_unix;
  if (left < 0) {
    out.push_back({"coturn_certificate_expired",
                   fmt::format("the certificate in {} expired at {}: turns: clients refuse it; "
                               "renew it and reload coturn",
                               cert.path, utc_text(cert.not_after_unix)),
                   false});
  } else if (cert.not_before_unix > in.now_unix) {
    out.push_back({"coturn_certificate_not_yet_valid",
                   fmt::format("the certificate in {} is valid only from {}: a clock is wrong "
                               "(check timedatectl here and where it was issued)",
                               cert.path, utc_text(cert.not_before_unix)),
                   false});
  } else if (left < kCertificateSoonDays * 86400) {
    out.push_back({"coturn_certificate_expiring",
                   fmt::format("the certificate in {} ends at {}, in {} days: its renewal has "
                               "failed somewhere; renew it and reload coturn",
                               cert.path, utc_text(cert.not_after_unix), left / 86400),
                   true});
  }
}

void lint_peers(const CoturnConfig& c, const CoturnLintInput& in, std::vector<RelayFinding>& out) {
  std::vector<AddressRange> denied;
  std::vector<AddressRange> allowed;
  for (const auto& v : c.values("denied-peer-ip")) {
    if (auto r = parse_address_range(v)) {
      denied.push_back(*r);
    } else {
      out.push_back({"coturn_peer_range_invalid",
                     fmt::format("denied-peer-ip={} is not an address, range (A-B) or prefix", v),
                     true});
    }
  }
  for (const auto& v : c.values("allowed-peer-ip")) {
    if (auto r = parse_address_range(v)) allowed.push_back(*r);
  }
  for (const auto& peer : in.peers) {
    const AddressRange* hit = nullptr;
    for (const auto& d : denied) {
      if (d.contains(peer)) hit = &d;
    }
    if (!hit) continue;
    bool allow = false;
    for (const auto& a : allowed)
      allow = allow || a.contains(peer);
    if (allow) continue;
    out.push_back({"coturn_peer_denied",
                   fmt::format("denied-peer-ip={} covers the peer {}: the server answers its "
                               "CreatePermission with 403 and relays nothing to it; narrow the "
                               "range or add allowed-peer-ip={}",
                               hit->to_string(), peer.to_string(), peer.to_string()),
                   false});
  }
}

bool same_rule(const NftPortRule& a, const NftPortRule& b) {
  return a.family == b.family && a.table == b.table && a.chain == b.chain && a.handle == b.handle &&
         a.position == b.position;
}

}  // namespace

std::pair<uint16_t, uint16_t> relay_port_range(const CoturnConfig& config) {
  return {port_value(config, "min-port").value_or(kCoturnMinPort),
          port_value(config, "max-port").value_or(kCoturnMaxPort)};
}

std::vector<FirewallDrop> firewall_drops_in_range(const std::vector<NftPortRule>& rules,
                                                  uint16_t first, uint16_t last) {
  std::vector<FirewallDrop> out;
  if (first > last) return out;
  for (const auto& rule : rules) {
    if (rule.verdict != "drop" && rule.verdict != "reject") continue;
    const std::vector<std::pair<uint16_t, uint16_t>> all{{first, last}};
    for (const auto& [a, b] : rule.ports ? *rule.ports : all) {
      const uint16_t lo = std::max(a, first);
      const uint16_t hi = std::min(b, last);
      if (lo > hi) continue;
      // Its ends stand for the part: an accept of the whole range before it shows at both.
      bool effective = false;
      for (uint16_t port : {lo, hi}) {
        for (const auto& d : nft_drops_for_port(rules, port))
          effective = effective || same_rule(d, rule);
      }
      if (effective) out.push_back({lo, hi, rule.describe()});
    }
  }
  return out;
}

std::vector<RelayFinding> lint_coturn_config(const CoturnConfig& config,
                                             const CoturnLintInput& input) {
  std::vector<RelayFinding> out;
  lint_addresses(config, out);
  lint_ports(config, input, out);
  lint_auth(config, input, out);
  lint_certificate(config, input, out);
  lint_peers(config, input, out);
  return out;
}

}  // namespace tern::doctor

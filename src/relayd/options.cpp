#include "relayd/options.hpp"

#include <charconv>
#include <cmath>

namespace tern::relayd {
namespace {

std::optional<uint64_t> parse_u64(std::string_view s) {
  uint64_t v = 0;
  if (s.empty()) return std::nullopt;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

std::optional<uint16_t> parse_port(std::string_view s) {
  auto v = parse_u64(s);
  if (!v || *v == 0 || *v > 65535) return std::nullopt;
  return static_cast<uint16_t>(*v);
}

}  // namespace

std::optional<Endpoint> parse_listen(std::string_view text, uint16_t default_port) {
  if (auto ep = Endpoint::parse(text)) return ep->port == 0 ? std::nullopt : ep;
  if (auto a = IpAddress::parse(text)) return Endpoint{*a, default_port};
  // "[2001:db8::1]" without a port.
  if (text.size() > 2 && text.front() == '[' && text.back() == ']') {
    if (auto a = IpAddress::parse(text.substr(1, text.size() - 2))) {
      return Endpoint{*a, default_port};
    }
  }
  return std::nullopt;
}

std::optional<relay::StaticUser> parse_user(std::string_view text) {
  auto colon = text.find(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == text.size()) {
    return std::nullopt;
  }
  return relay::StaticUser{std::string(text.substr(0, colon)), std::string(text.substr(colon + 1))};
}

std::optional<uint64_t> parse_rate(std::string_view text) {
  if (text.ends_with("/s")) text.remove_suffix(2);
  if (text.empty()) return std::nullopt;
  double scale = 1;
  switch (text.back()) {
    case 'k':
    case 'K':
      scale = 1e3;
      break;
    case 'M':
      scale = 1e6;
      break;
    case 'G':
      scale = 1e9;
      break;
    default:
      break;
  }
  if (scale != 1) text.remove_suffix(1);
  double v = 0;
  if (text.empty()) return std::nullopt;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || p != text.data() + text.size() || !std::isfinite(v) || v < 0) {
    return std::nullopt;
  }
  double bytes = v * scale;
  if (bytes >= 1e18) return std::nullopt;
  return static_cast<uint64_t>(bytes);
}

std::optional<uint64_t> parse_seconds(std::string_view text) {
  if (text.empty()) return std::nullopt;
  uint64_t scale = 1;
  switch (text.back()) {
    case 's':
      break;
    case 'm':
      scale = 60;
      break;
    case 'h':
      scale = 3600;
      break;
    default:
      return parse_u64(text);
  }
  text.remove_suffix(1);
  auto v = parse_u64(text);
  if (!v || *v > (uint64_t{1} << 40)) return std::nullopt;
  return *v * scale;
}

std::optional<std::pair<uint16_t, uint16_t>> parse_port_range(std::string_view text) {
  auto dash = text.find('-');
  if (dash == std::string_view::npos) return std::nullopt;
  auto lo = parse_port(text.substr(0, dash));
  auto hi = parse_port(text.substr(dash + 1));
  if (!lo || !hi || *lo > *hi) return std::nullopt;
  return std::pair{*lo, *hi};
}

Result<RelaydConfig> make_config(const RawOptions& raw) {
  RelaydConfig c;
  relay::RelayConfig& r = c.relay;

  for (const auto& l : raw.listen) {
    auto ep = parse_listen(l, kDefaultStunPort);
    if (!ep) {
      return fail("--listen " + l +
                  ": not ADDR or ADDR:PORT (for example 192.0.2.1, 192.0.2.1:3478 or "
                  "[2001:db8::1]:3478)");
    }
    c.listen.push_back(*ep);
  }
  if (c.listen.empty()) c.listen.push_back(Endpoint{IpAddress::v4(0u), kDefaultStunPort});
  if (!raw.no_tcp) c.tcp_listen = c.listen;
  if (raw.tls_cert.empty() != raw.tls_key.empty()) {
    return fail(std::string(raw.tls_cert.empty() ? "--tls-key" : "--tls-cert") + " without " +
                (raw.tls_cert.empty() ? "--tls-cert" : "--tls-key") +
                ": TLS needs both the certificate chain and its private key (PEM files)");
  }
  if (raw.tls_port && raw.tls_cert.empty()) {
    return fail("--tls-port without --tls-cert and --tls-key: TLS needs a certificate and key");
  }
  if (raw.tls_port && *raw.tls_port == 0) return fail("--tls-port 0: give a port, e.g. 5349");
  if (!raw.tls_cert.empty()) {
    c.tls_cert = raw.tls_cert;
    c.tls_key = raw.tls_key;
    for (const auto& l : c.listen)
      c.tls_listen.push_back(Endpoint{l.address, raw.tls_port.value_or(kDefaultTlsPort)});
    for (const auto& t : c.tls_listen) {
      for (const auto& l : c.tcp_listen) {
        if (t == l) {
          return fail("--tls-port " + std::to_string(t.port) +
                      ": the same port as the TCP listener; choose another (5349 is TURN over "
                      "TLS's)");
        }
      }
    }
  }
  if (raw.max_connections) {
    if (*raw.max_connections == 0 || *raw.max_connections > 1'000'000) {
      return fail("--max-connections " + std::to_string(*raw.max_connections) +
                  ": give 1 to 1000000 (each connection holds a file descriptor and buffers)");
    }
    c.max_connections = *raw.max_connections;
  }
  if (raw.threads) {
    if (*raw.threads == 0 || *raw.threads > kMaxThreads) {
      return fail("--threads " + std::to_string(*raw.threads) + ": give 1 to " +
                  std::to_string(kMaxThreads) +
                  " event loops (default one per CPU; 1 runs the relay on one thread)");
    }
    c.threads = *raw.threads;
  }

  for (const auto& a : raw.relay_address) {
    auto ip = IpAddress::parse(a);
    if (!ip || ip->is_unspecified()) {
      return fail("--relay-address " + a +
                  ": not a specific IP address (allocations are announced at it: give the "
                  "address clients and peers reach, for example 203.0.113.1)");
    }
    for (const auto& other : c.relay_addresses) {
      if (other.family() == ip->family()) {
        return fail("--relay-address " + a + ": a second address of the same family (give at " +
                    "most one IPv4 and one IPv6 address)");
      }
    }
    c.relay_addresses.push_back(*ip);
  }
  if (c.relay_addresses.empty()) {
    for (const auto& l : c.listen) {
      if (l.address.is_unspecified()) continue;
      bool have = false;
      for (const auto& a : c.relay_addresses)
        have = have || a.family() == l.address.family();
      if (!have) c.relay_addresses.push_back(l.address);
    }
  }
  if (c.relay_addresses.empty()) {
    return fail(
        "--relay-address is needed when every --listen address is a wildcard: give the public "
        "address allocations are announced at, for example --relay-address 203.0.113.1");
  }
  r.relay_ipv4 = r.relay_ipv6 = false;
  for (const auto& a : c.relay_addresses)
    (a.is_v4() ? r.relay_ipv4 : r.relay_ipv6) = true;

  if (!raw.other_address.empty()) {
    auto other = IpAddress::parse(raw.other_address);
    if (!other || other->is_unspecified()) {
      return fail("--other-address " + raw.other_address +
                  ": not a specific IP address (RFC 5780 needs a second address of this host)");
    }
    if (c.listen.size() != 1 || c.listen[0].address.is_unspecified() ||
        c.listen[0].address.family() != other->family() || c.listen[0].address == *other) {
      return fail("--other-address " + raw.other_address +
                  ": needs exactly one --listen with a specific address of the same family, "
                  "other than this one (for example --listen 192.0.2.1 --other-address "
                  "192.0.2.2)");
    }
    if (c.listen[0].port == 65535) {
      return fail(
          "--listen: with --other-address the port after it is listened on too; "
          "choose a port below 65535");
    }
    const Endpoint p = c.listen[0];
    const uint16_t alt_port = static_cast<uint16_t>(p.port + 1);
    r.discovery = relay::BehaviorDiscovery{p, Endpoint{*other, alt_port}};
    c.listen = {p, Endpoint{p.address, alt_port}, Endpoint{*other, p.port},
                Endpoint{*other, alt_port}};
  }

  r.realm = raw.realm;
  if (r.realm.empty()) return fail("--realm: must not be empty (coturn's default is the domain)");
  for (const auto& u : raw.users) {
    auto user = parse_user(u);
    if (!user) {
      return fail("--user: '" + u.substr(0, u.find(':')) +
                  "...' is not NAME:PASSWORD (for example --user alice:correct-horse)");
    }
    r.users.push_back(std::move(*user));
  }
  for (const auto& s : raw.secrets) {
    if (s.empty()) return fail("--secret: must not be empty");
    r.shared_secrets.push_back(s);
  }
  if (r.users.empty() && r.shared_secrets.empty()) {
    return fail(
        "no credentials: give --user NAME:PASSWORD (static users) and/or --secret S (TURN REST "
        "credentials, as coturn's static-auth-secret)");
  }

  for (const auto& [list, name, out] : {std::tuple{&raw.allow, "--allow", &r.allowed_peers},
                                        std::tuple{&raw.deny, "--deny", &r.denied_peers}}) {
    for (const auto& p : *list) {
      auto prefix = IpPrefix::parse(p);
      if (!prefix) {
        return fail(std::string(name) + " " + p +
                    ": not an IP prefix (for example 10.9.0.0/16 or 2001:db8::/32)");
      }
      out->push_back(prefix->masked());
    }
  }
  if (!raw.max_lifetime.empty()) {
    auto s = parse_seconds(raw.max_lifetime);
    if (!s || *s < 600) {
      return fail("--max-lifetime " + raw.max_lifetime +
                  ": not a duration of at least 600 s, RFC 8656's default lifetime (for "
                  "example 3600, 3600s, 60m or 1h)");
    }
    r.max_lifetime = std::chrono::seconds(*s);
  }
  if (raw.user_quota) r.user_quota = *raw.user_quota;
  if (raw.total_quota) {
    if (*raw.total_quota == 0) {
      return fail("--total-quota 0: no allocation could ever be made; give at least 1");
    }
    r.max_allocations = *raw.total_quota;
  }
  if (!raw.rate.empty()) {
    auto rate = parse_rate(raw.rate);
    if (!rate) {
      return fail("--rate " + raw.rate +
                  ": not bytes per second (for example 125000, 500k or 1.5M; 0 for no limit)");
    }
    r.rate_limit.bytes_per_second = *rate;
  }
  if (!raw.port_range.empty()) {
    auto range = parse_port_range(raw.port_range);
    if (!range) {
      return fail("--port-range " + raw.port_range +
                  ": not MIN-MAX with 1 <= MIN <= MAX <= 65535 (for example 49152-65535)");
    }
    c.port_min = range->first;
    c.port_max = range->second;
  }
  if (!raw.metrics.empty()) {
    auto ep = Endpoint::parse(raw.metrics);
    if (!ep || ep->port == 0) {
      return fail("--metrics " + raw.metrics +
                  ": not ADDR:PORT (for example 127.0.0.1:9641 or [::1]:9641)");
    }
    c.metrics = *ep;
  }
  if (auto st = relay::validate(r); !st) return fail(st.error().message);
  return c;
}

}  // namespace tern::relayd

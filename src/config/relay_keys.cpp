// The keys of [Relay] (docs/config.md): the TURN server the agent allocates on and its
// credentials. The URL is RFC 7065's turnURI: UDP, TCP with ?transport=tcp, or TLS over TCP
// with turns: (port 5349 by default; DTLS, turns: over UDP, is not supported).
#include <charconv>

#include "config/values.hpp"

namespace tern::config::detail {
namespace {

constexpr std::string_view kUrlHow =
    "write Url = turn:HOST:PORT (e.g. turn:192.0.2.1:3478) or turns:NAME[:PORT] for TLS";

Status parse_url(RelayConfig& relay, std::string_view value) {
  const bool tls = value.starts_with("turns:");
  if (!tls && !value.starts_with("turn:")) {
    return fail("Url is a TURN URL; " + std::string(kUrlHow));
  }
  std::string_view rest = value.substr(tls ? 6 : 5);
  if (auto q = rest.find('?'); q != std::string_view::npos) {
    const std::string_view query = rest.substr(q + 1);
    rest = rest.substr(0, q);
    if (tls && iequals(query, "transport=udp")) {
      return fail(
          "Url: turns: over UDP is DTLS, which the agent's relay does not support; "
          "write turns:" +
          std::string(rest.substr(0, 60)) + " (TLS over TCP) or turn:" +
          std::string(rest.substr(0, 60)) + "?transport=udp (plain UDP)");
    }
    if (!iequals(query, "transport=udp") && !iequals(query, "transport=tcp")) {
      return fail("Url: the agent's relay takes ?transport=udp or ?transport=tcp; " +
                  std::string(kUrlHow));
    }
  }
  std::string_view host = rest;
  std::string_view port;
  if (rest.starts_with('[')) {
    const size_t close = rest.find(']');
    if (close == std::string_view::npos)
      return fail("Url: '[' without ']'; " + std::string(kUrlHow));
    host = rest.substr(1, close - 1);
    const std::string_view after = rest.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return fail("Url: junk after ']'; " + std::string(kUrlHow));
      port = after.substr(1);
    }
  } else if (auto colon = rest.rfind(':'); colon != std::string_view::npos) {
    host = rest.substr(0, colon);
    port = rest.substr(colon + 1);
  }
  if (host.empty()) return fail("Url has no host; " + std::string(kUrlHow));
  relay.port = tls ? 5349 : 3478;
  if (!port.empty() || rest.ends_with(':')) {
    unsigned p = 0;
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
    if (ec != std::errc() || end != port.data() + port.size() || p == 0 || p > 65535) {
      return fail("Url: port '" + std::string(port.substr(0, 10)) + "' is not 1-65535; " +
                  std::string(kUrlHow));
    }
    relay.port = static_cast<uint16_t>(p);
  }
  relay.host = std::string(host);
  relay.url = std::string(value);
  relay.tls = tls;
  return {};
}

}  // namespace

Status relay_key(RelayConfig& relay, std::string_view key, std::string_view value) {
  if (value.empty()) {
    return fail(std::string(key) + " has no value; write " + std::string(key) +
                " = VALUE, or remove the line");
  }
  if (iequals(key, "Url")) return parse_url(relay, value);
  if (iequals(key, "Username")) {
    relay.username = std::string(value);
  } else if (iequals(key, "Password")) {
    relay.password = std::string(value);
  } else if (iequals(key, "Secret")) {
    relay.secret = std::string(value);
  } else if (iequals(key, "CA")) {
    relay.ca_file = std::string(value);
  } else {
    return fail("unknown key '" + std::string(key.substr(0, 40)) +
                "' in [Relay]; the keys of [Relay] are Url, Username, Password, Secret, CA");
  }
  return {};
}

Status check_relay(const RelayConfig& relay) {
  if (relay.url.empty()) return fail("[Relay] has no Url; " + std::string(kUrlHow));
  if (!relay.ca_file.empty() && !relay.tls) {
    return fail("[Relay] CA is for TLS: write Url = turns:" + relay.host +
                " to reach the relay over TLS, or remove CA");
  }
  if (!relay.secret.empty()) {
    if (!relay.password.empty()) {
      return fail(
          "[Relay] has both Secret and Password; keep Secret for TURN REST credentials "
          "or Username and Password for a static user");
    }
    return {};
  }
  if (relay.username.empty() || relay.password.empty()) {
    return fail(
        "[Relay] needs credentials: Username and Password, or Secret (the server's "
        "static-auth-secret)");
  }
  return {};
}

}  // namespace tern::config::detail

#include "doctor/turn_url.hpp"

#include <cctype>

#include "base/ip.hpp"

namespace tern::doctor {
namespace {

constexpr std::string_view kShape =
    "write it as turn:HOST[:PORT][?transport=udp|tcp], turns:HOST[:PORT] or stun:HOST[:PORT]";

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// RFC 3986 reg-name without percent-encoding: unreserved and sub-delims.
bool is_name_char(char c) {
  if (std::isalnum(static_cast<unsigned char>(c))) return true;
  return std::string_view("-._~!$&'()*+,;=").find(c) != std::string_view::npos;
}

Result<uint16_t> parse_port(std::string_view text, std::string_view url) {
  if (text.empty() || text.size() > 5) {
    return fail("'" + std::string(url) + "' has an empty or overlong port; " + std::string(kShape));
  }
  uint32_t v = 0;
  for (char c : text) {
    if (c < '0' || c > '9') {
      return fail("'" + std::string(url) + "' has a port that is not a number; " +
                  std::string(kShape));
    }
    v = v * 10 + static_cast<uint32_t>(c - '0');
  }
  if (v == 0 || v > 65535) {
    return fail("'" + std::string(url) + "' has port " + std::to_string(v) + ", outside 1-65535");
  }
  return static_cast<uint16_t>(v);
}

}  // namespace

std::string_view url_transport_name(UrlTransport t) {
  switch (t) {
    case UrlTransport::kUdp:
      return "udp";
    case UrlTransport::kTcp:
      return "tcp";
    case UrlTransport::kTls:
      return "tls";
    case UrlTransport::kDtls:
      return "dtls";
  }
  return "udp";
}

std::string TurnUrl::server() const {
  const bool v6 = host.find(':') != std::string::npos;
  return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

std::string TurnUrl::to_string() const {
  static constexpr std::string_view kNames[] = {"stun", "stuns", "turn", "turns"};
  std::string out = std::string(kNames[static_cast<size_t>(scheme)]) + ":" + server();
  if (is_turn()) {
    const bool tcp = transport == UrlTransport::kTcp || transport == UrlTransport::kTls;
    out += tcp ? "?transport=tcp" : "?transport=udp";
  }
  return out;
}

Result<TurnUrl> parse_turn_url(std::string_view text) {
  const std::string url(text);
  const size_t colon = text.find(':');
  if (colon == std::string_view::npos) {
    return fail("'" + url + "' has no scheme; " + std::string(kShape));
  }
  TurnUrl out;
  const std::string scheme = lower(text.substr(0, colon));
  if (scheme == "stun") {
    out.scheme = UrlScheme::kStun;
  } else if (scheme == "stuns") {
    out.scheme = UrlScheme::kStuns;
  } else if (scheme == "turn") {
    out.scheme = UrlScheme::kTurn;
  } else if (scheme == "turns") {
    out.scheme = UrlScheme::kTurns;
  } else {
    return fail("'" + url + "' has scheme '" + scheme + "', not stun, stuns, turn or turns; " +
                std::string(kShape));
  }
  const bool secure = out.scheme == UrlScheme::kStuns || out.scheme == UrlScheme::kTurns;
  out.port = secure ? 5349 : 3478;
  out.transport = secure ? UrlTransport::kTls : UrlTransport::kUdp;

  std::string_view rest = text.substr(colon + 1);
  if (rest.starts_with("//")) {
    return fail("'" + url + "' has '//' after the scheme; TURN URIs have none (RFC 7065): " +
                std::string(kShape));
  }
  std::string_view query;
  if (const size_t q = rest.find('?'); q != std::string_view::npos) {
    query = rest.substr(q + 1);
    rest = rest.substr(0, q);
    if (!out.is_turn()) {
      return fail("'" + url + "': a stun: URI takes no query (RFC 7064); " + std::string(kShape));
    }
  }

  // Host: [v6], IPv4 or a name; then an optional :port.
  std::string_view port_text;
  bool has_port = false;
  if (rest.starts_with('[')) {
    const size_t close = rest.find(']');
    if (close == std::string_view::npos) {
      return fail("'" + url + "' opens an IPv6 literal with '[' but never closes it");
    }
    out.host = std::string(rest.substr(1, close - 1));
    const auto a = IpAddress::parse(out.host);
    if (!a || !a->is_v6()) {
      return fail("'" + url + "' has '[" + out.host + "]', which is not an IPv6 address");
    }
    rest = rest.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') {
        return fail("'" + url + "' has text after the IPv6 literal; " + std::string(kShape));
      }
      has_port = true;
      port_text = rest.substr(1);
    }
  } else {
    const size_t pc = rest.find(':');
    if (pc != std::string_view::npos) {
      has_port = true;
      port_text = rest.substr(pc + 1);
      rest = rest.substr(0, pc);
    }
    if (rest.empty()) return fail("'" + url + "' names no host; " + std::string(kShape));
    for (char c : rest) {
      if (!is_name_char(c)) {
        return fail("'" + url + "' has a host with the character '" + std::string(1, c) +
                    "'; an IPv6 address goes in brackets: turn:[2001:db8::1]:3478");
      }
    }
    out.host = std::string(rest);
  }
  if (out.host.empty()) return fail("'" + url + "' names no host; " + std::string(kShape));
  if (has_port) {
    auto port = parse_port(port_text, text);
    if (!port) return tl::unexpected(port.error());
    out.port = *port;
  }

  if (!query.empty() || text.find('?') != std::string_view::npos) {
    const std::string q = lower(query);
    if (!q.starts_with("transport=")) {
      return fail("'" + url + "' has the query '" + std::string(query) +
                  "'; the only one TURN URIs know is ?transport=udp or ?transport=tcp");
    }
    const std::string t = q.substr(10);
    if (t == "udp") {
      out.transport = secure ? UrlTransport::kDtls : UrlTransport::kUdp;
    } else if (t == "tcp") {
      out.transport = secure ? UrlTransport::kTls : UrlTransport::kTcp;
    } else {
      return fail("'" + url + "' asks for transport '" + t + "'; use udp or tcp");
    }
    out.transport_given = true;
  }
  return out;
}

}  // namespace tern::doctor

// `tern doctor` checks relays named by URL: RFC 7065 TURN URIs and RFC 7064 STUN URIs.
//   turnURI = ("turn" / "turns") ":" host [ ":" port ] [ "?transport=" ("udp" / "tcp") ]
//   stunURI = ("stun" / "stuns") ":" host [ ":" port ]
// host is an IPv4 address, a bracketed IPv6 literal or a name. Default ports: 3478, and
// 5349 for the secure schemes. Parsing is a pure function, so it is unit-tested and fuzzed.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/result.hpp"

namespace tern::doctor {

enum class UrlScheme : uint8_t { kStun, kStuns, kTurn, kTurns };
// What carries the STUN messages: turns: over TCP is TLS, turns: over UDP is DTLS.
enum class UrlTransport : uint8_t { kUdp, kTcp, kTls, kDtls };

std::string_view url_transport_name(UrlTransport t);  // "udp", "tcp", "tls", "dtls"

struct TurnUrl {
  UrlScheme scheme = UrlScheme::kTurn;
  std::string host;  // without brackets
  uint16_t port = 3478;
  UrlTransport transport = UrlTransport::kUdp;
  bool transport_given = false;  // ?transport= was present

  bool is_turn() const { return scheme == UrlScheme::kTurn || scheme == UrlScheme::kTurns; }
  // "turn:192.0.2.1:3478?transport=udp": every part spelt out.
  std::string to_string() const;
  // "192.0.2.1:3478", "[2001:db8::1]:3478".
  std::string server() const;
};

// Fails naming what is wrong and how the URL should look.
[[nodiscard]] Result<TurnUrl> parse_turn_url(std::string_view text);

}  // namespace tern::doctor

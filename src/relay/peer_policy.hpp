// Which peer addresses the relay may send to. A TURN server relays to any
// address a client names, so by default it refuses the ones that reach the
// relay's own host or the networks behind it (loopback, private, link-local,
// CGNAT, unspecified) and the ones no unicast peer has (multicast, broadcast):
// relays that did not were used to reach internal services (coturn
// CVE-2020-26262). IPv4 addresses written as IPv6 (::ffff:a.b.c.d, the NAT64
// prefix 64:ff9b::/96, the deprecated ::a.b.c.d) are judged by the IPv4 address
// inside. An allow-list re-permits chosen prefixes; a deny-list adds more.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "base/ip.hpp"

namespace tern::relay {

// Why an address is refused.
enum class PeerClass : uint8_t {
  kUnspecified,  // 0.0.0.0/8, ::/128: "this host" to most stacks
  kLoopback,     // 127.0.0.0/8, ::1/128
  kPrivate,      // RFC 1918 10/8, 172.16/12, 192.168/16; ULA fc00::/7
  kLinkLocal,    // 169.254.0.0/16 (cloud metadata services live here), fe80::/10
  kCgnat,        // 100.64.0.0/10 (RFC 6598): the provider's network, and tailnets
  kMulticast,    // 224.0.0.0/4, ff00::/8
  kBroadcast,    // 255.255.255.255
  kDenied,       // a prefix on the operator's deny-list
};

std::string_view peer_class_name(PeerClass c);  // "loopback", ...

// The special-purpose class of an address (any but kDenied), nullopt for an
// ordinary unicast address. Looks through the IPv4-in-IPv6 forms above.
[[nodiscard]] std::optional<PeerClass> special_address_class(const IpAddress& a);

// The IPv4 address inside ::ffff:a.b.c.d, 64:ff9b::a.b.c.d or ::a.b.c.d (but not
// :: or ::1), nullopt for any other address.
[[nodiscard]] std::optional<IpAddress> embedded_ipv4(const IpAddress& a);

class PeerPolicy {
 public:
  PeerPolicy() = default;
  // `allowed` wins over everything; `denied` is refused besides the special classes.
  PeerPolicy(std::vector<IpPrefix> allowed, std::vector<IpPrefix> denied);

  // nullopt when relaying to `peer` is permitted, otherwise why it is not.
  [[nodiscard]] std::optional<PeerClass> refusal(const IpAddress& peer) const;

 private:
  static bool matches(const std::vector<IpPrefix>& list, const IpAddress& a,
                      const std::optional<IpAddress>& inner);

  std::vector<IpPrefix> allowed_;
  std::vector<IpPrefix> denied_;
};

}  // namespace tern::relay

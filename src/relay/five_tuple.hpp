// The TURN 5-tuple (RFC 8656 §2): the client's transport address, the server's
// address it reached, and the transport between them. An allocation belongs to
// exactly one 5-tuple; a TCP or TLS connection is one 5-tuple for its lifetime.
#pragma once

#include <compare>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "base/ip.hpp"

namespace tern::relay {

enum class Transport : uint8_t { kUdp, kTcp, kTls };

constexpr std::string_view transport_name(Transport t) {
  switch (t) {
    case Transport::kUdp:
      return "udp";
    case Transport::kTcp:
      return "tcp";
    case Transport::kTls:
      return "tls";
  }
  return "unknown";
}

struct FiveTuple {
  Endpoint client;  // the client's address as the server sees it (after any NAT)
  Endpoint server;  // the listener address the client sent to
  Transport transport = Transport::kUdp;

  std::string to_string() const;
  auto operator<=>(const FiveTuple&) const = default;
};

// FNV-1a over the address bytes and port: cheap, and the maps it serves are keyed
// by addresses a client chooses only within the limits of its own NAT.
struct EndpointHash {
  size_t operator()(const Endpoint& e) const {
    uint64_t h = 1469598103934665603ULL;
    auto mix = [&h](uint8_t b) { h = (h ^ b) * 1099511628211ULL; };
    for (size_t i = 0; i < e.address.size(); ++i)
      mix(e.address.data()[i]);
    mix(static_cast<uint8_t>(e.port >> 8));
    mix(static_cast<uint8_t>(e.port));
    return static_cast<size_t>(h);
  }
};

struct FiveTupleHash {
  size_t operator()(const FiveTuple& t) const {
    const EndpointHash h;
    return h(t.client) ^ (h(t.server) * 31) ^ static_cast<size_t>(t.transport);
  }
};

}  // namespace tern::relay

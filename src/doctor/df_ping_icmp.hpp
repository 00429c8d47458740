// The ICMP side of the DF-ping search (`tern doctor mtu`): building echo requests and
// reading what comes back (echo replies, "fragmentation needed" / "Packet Too Big", other
// errors) from a raw or ping socket. Everything here reads network input: each way a
// datagram can be refused is a counted IcmpDrop, never an assertion.
//
// Echo (RFC 792, RFC 4443 §4):  type | code | checksum | identifier | sequence | data
//   data = the probe token (8 bytes) then zero padding up to the probe size.
// Errors (RFC 792, RFC 1191 §4, RFC 4443 §3.1-3.3):  type | code | checksum | 4 bytes
//   (next-hop MTU in the low 16 bits for IPv4 type 3 code 4; the MTU for ICMPv6 type 2) |
//   as much of the invoking packet as fits: its IP header, then our echo request header.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>
#include <variant>

#include "base/bytes.hpp"
#include "base/ip.hpp"

namespace tern::doctor {

inline constexpr size_t kIcmpHeaderSize = 8;
inline constexpr size_t kProbeTokenSize = 8;
using ProbeToken = std::array<uint8_t, kProbeTokenSize>;

// IP header sizes the probe sizes count (IPv4 without options).
inline constexpr size_t kIpv4HeaderSize = 20;
inline constexpr size_t kIpv6HeaderSize = 40;
inline size_t ip_header_size(IpAddress::Family f) {
  return f == IpAddress::Family::kV4 ? kIpv4HeaderSize : kIpv6HeaderSize;
}
// The smallest probe: IP header, ICMP header and the token.
inline size_t min_probe_size(IpAddress::Family f) {
  return ip_header_size(f) + kIcmpHeaderSize + kProbeTokenSize;
}

// Writes the ICMP echo request that makes an IP packet of `ip_size` bytes into `out` and
// returns its length (ip_size minus the IP header), or 0 when ip_size is below
// min_probe_size or `out` is too small. The IPv4 checksum is filled in; the IPv6 one is
// left zero because the kernel computes it on raw ICMPv6 and ping sockets.
[[nodiscard]] size_t build_echo_request(IpAddress::Family family, uint16_t id, uint16_t seq,
                                        const ProbeToken& token, size_t ip_size, MutableBytes out);

enum class IcmpDrop : uint8_t {
  kMalformed,     // shorter than its headers claim, bad IPv4 header
  kNotIcmp,       // an IPv4 packet of another protocol
  kBadChecksum,   // an ICMPv4 message whose checksum is wrong
  kIgnoredType,   // echo requests, router adverts, ...: nothing the search asked for
  kNotOurs,       // an echo reply or quoted probe with another identifier or token
  kWrongSource,   // an echo reply from another host than the target
  kUnknownProbe,  // a sequence number the search never sent (or already settled)
  kCount,
};
inline constexpr size_t kIcmpDropCount = static_cast<size_t>(IcmpDrop::kCount);
std::string_view icmp_drop_name(IcmpDrop d);

struct EchoReply {
  uint16_t id = 0;
  uint16_t seq = 0;
  Bytes data;  // after the ICMP header: the token, then padding
};

// An error about one of our echo requests: the quoted packet's echo header.
struct IcmpError {
  bool too_big = false;  // IPv4 type 3 code 4, or ICMPv6 type 2
  uint32_t mtu = 0;      // the MTU it reports (0 when the router left it out)
  uint8_t type = 0;
  uint8_t code = 0;
  IpAddress quoted_destination;  // where the invoking packet was going
  uint16_t id = 0;
  uint16_t seq = 0;
};

using IcmpMessage = std::variant<EchoReply, IcmpError, IcmpDrop>;

// How a socket hands ICMP over: a raw IPv4 socket includes the IP header; raw ICMPv6 and
// ping sockets start at the ICMP header.
enum class IcmpFraming : uint8_t { kWithIpv4Header, kIcmpOnly };

// Classifies one received datagram of `family`.
[[nodiscard]] IcmpMessage parse_icmp(Bytes datagram, IcmpFraming framing, IpAddress::Family family);

// The echo header quoted after an error's IP header (or handed back by a ping socket's
// error queue): nullopt unless it is an echo request.
struct QuotedEcho {
  uint16_t id = 0;
  uint16_t seq = 0;
};
[[nodiscard]] std::optional<QuotedEcho> parse_quoted_echo(Bytes icmp, IpAddress::Family family);

}  // namespace tern::doctor

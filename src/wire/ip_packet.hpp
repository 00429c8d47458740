// The few fields of an inner IPv4/IPv6 header that cryptokey routing needs:
// version, source, destination and the length the header claims. The
// WireGuard payload may carry padding after the packet; `total_length` tells
// where the packet really ends.
#pragma once

#include <cstdint>
#include <optional>

#include "base/bytes.hpp"
#include "base/ip.hpp"

namespace tern::wire {

struct IpPacketInfo {
  IpAddress source;
  IpAddress destination;
  size_t total_length = 0;  // from the header; <= the buffer's length
};

inline constexpr size_t kIpv4MinHeader = 20;
inline constexpr size_t kIpv6Header = 40;

// nullopt for anything that is not a well-formed IPv4/IPv6 header whose
// claimed length fits in `packet`.
std::optional<IpPacketInfo> parse_ip_packet(Bytes packet);

// Only the destination, for the send path (cheaper: no length checks beyond the header).
std::optional<IpAddress> ip_destination(Bytes packet);

}  // namespace tern::wire

// Finds the transport header inside an inner IPv4/IPv6 packet: past the IPv4 options, or
// along the IPv6 extension-header chain (RFC 8200 §4). The TUN-boundary functions (ICMP
// Packet Too Big, MSS clamping) need it to know what a packet carries; bounds-checked, and
// a chain longer than a few headers is refused rather than walked.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>

#include "base/bytes.hpp"

namespace tern::wire {

inline constexpr uint8_t kProtoIcmp = 1;
inline constexpr uint8_t kProtoTcp = 6;
inline constexpr uint8_t kProtoUdp = 17;
inline constexpr uint8_t kProtoIcmpv6 = 58;

struct UpperLayer {
  bool is_v6 = false;
  size_t header_length = 0;  // IPv4 header with options / IPv6 header with extensions
  size_t total_length = 0;   // the packet's length from its header (<= the buffer)
  uint8_t protocol = 0;      // the upper-layer protocol (IPv6: the last Next Header)
  size_t offset = 0;         // where the upper-layer header starts (== header_length)
  // False for a non-first fragment: the bytes at `offset` are the middle of a payload.
  bool first_fragment = true;
  bool more_fragments = false;
};

// nullopt unless `packet` starts with a well-formed IPv4 or IPv6 header whose claimed length
// fits the buffer (IPv6 jumbograms are refused).
[[nodiscard]] std::optional<UpperLayer> find_upper_layer(Bytes packet);

}  // namespace tern::wire

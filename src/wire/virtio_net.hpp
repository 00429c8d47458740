// The virtio-net header (struct virtio_net_hdr, Virtio 1.2 §5.1.6) that a TUN device opened with
// IFF_VNET_HDR puts before every packet it hands over and expects before every packet written:
// it says whether the packet is a TCP/UDP "super-packet" to be cut into segments (GSO) and
// whether its transport checksum is still to be computed.
//
//   0       1         2          4          6            8             10
//   | flags | gso_type | hdr_len | gso_size | csum_start | csum_offset |
//
// Fields are in the host's byte order for a TUN device (no TUNSETVNETBE/LE): little-endian
// on every host tern runs on.
#pragma once

#include <cstdint>
#include <optional>

#include "base/bytes.hpp"

namespace tern::wire {

inline constexpr size_t kVirtioNetHeaderSize = 10;

// flags
inline constexpr uint8_t kVirtioNetNeedsCsum = 1;  // checksum [csum_start, end) into csum_offset
inline constexpr uint8_t kVirtioNetDataValid = 2;  // checksum already verified
// gso_type (kVirtioNetGsoEcn may be or'ed in)
inline constexpr uint8_t kVirtioNetGsoNone = 0;
inline constexpr uint8_t kVirtioNetGsoTcpV4 = 1;
inline constexpr uint8_t kVirtioNetGsoUdp = 3;  // UFO: IP fragmentation, never enabled here
inline constexpr uint8_t kVirtioNetGsoTcpV6 = 4;
inline constexpr uint8_t kVirtioNetGsoUdpL4 = 5;  // USO (Linux 6.2)
inline constexpr uint8_t kVirtioNetGsoEcn = 0x80;

struct VirtioNetHeader {
  uint8_t flags = 0;
  uint8_t gso_type = kVirtioNetGsoNone;
  uint16_t hdr_len = 0;      // length of the headers of each segment (a hint only)
  uint16_t gso_size = 0;     // payload bytes per segment
  uint16_t csum_start = 0;   // where the transport header starts
  uint16_t csum_offset = 0;  // checksum field, relative to csum_start
};

// nullopt when fewer than kVirtioNetHeaderSize bytes are given.
[[nodiscard]] std::optional<VirtioNetHeader> parse_virtio_net_header(Bytes in);
// Writes kVirtioNetHeaderSize bytes; false (nothing written) if `out` is too small.
[[nodiscard]] bool serialize_virtio_net_header(const VirtioNetHeader& h, MutableBytes out);

}  // namespace tern::wire

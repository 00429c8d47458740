// TURN ChannelData messages (RFC 8656 §12.4): relayed data with a 4-byte header
// instead of a 36-byte Send/Data indication, the form tern's hot path uses. They
// share the UDP socket with WireGuard and STUN; their first byte is 0x40..0x7F.
//
//    0                   1                   2                   3
//    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |         Channel Number        |            Length             |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   /                       Application Data                        /
//   /                                                               /
//   |                               +-------------------------------+
//   +-------------------------------+
// Channel numbers are 0x4000-0x4FFF; 0x5000-0x7FFF are reserved (RFC 8656 §12).
// Over TCP/TLS the message is padded to a multiple of 4 (not counted in Length);
// over UDP padding is optional and a receiver ignores bytes after Length.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include <tl/expected.hpp>

#include "base/bytes.hpp"

namespace tern::wire {

inline constexpr size_t kChannelDataHeaderSize = 4;
inline constexpr uint16_t kChannelMin = 0x4000;
inline constexpr uint16_t kChannelMax = 0x4FFF;

constexpr bool is_valid_channel(uint16_t channel) {
  return channel >= kChannelMin && channel <= kChannelMax;
}

enum class ChannelDataError : uint8_t {
  kTooShort,         // fewer than 4 bytes
  kNotChannelData,   // first byte outside 0x40..0x7F
  kReservedChannel,  // 0x5000..0x7FFF
  kBadLength,        // Length claims more bytes than the datagram holds
};
std::string_view channel_data_error_name(ChannelDataError e);

// A view into a received message; `data` points into the datagram.
struct ChannelDataView {
  uint16_t channel = 0;
  Bytes data;
};

// Classifier for the shared UDP socket: at least 4 bytes and a first byte of
// 0x40..0x7F (top bits 01). Never true for WireGuard (first byte 1..4) or STUN
// (top bits 00).
[[nodiscard]] constexpr bool is_channel_data(Bytes datagram) {
  return datagram.size() >= kChannelDataHeaderSize && (datagram[0] & 0xC0) == 0x40;
}

// Parses a ChannelData message; bytes past Length (padding) are ignored.
[[nodiscard]] tl::expected<ChannelDataView, ChannelDataError> parse_channel_data(Bytes datagram);

// The size of a message carrying `data_size` bytes, with or without padding to 4.
constexpr size_t channel_data_size(size_t data_size, bool pad) {
  const size_t n = kChannelDataHeaderSize + data_size;
  return pad ? (n + 3) & ~size_t{3} : n;
}

// Writes the 4-byte header, so the caller can put (or already has) the data
// right after it; returns 4, or 0 when out is short, the channel is invalid or
// data_size exceeds 65535.
[[nodiscard]] size_t write_channel_data_header(uint16_t channel, size_t data_size,
                                               MutableBytes out);
// Writes header, data and (if pad) zero padding; returns the size or 0 as above.
[[nodiscard]] size_t write_channel_data(uint16_t channel, Bytes data, bool pad, MutableBytes out);

}  // namespace tern::wire

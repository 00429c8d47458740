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
// Channel numbers: RFC 8656 §12 allows 0x4000-0x4FFF and reserves 0x5000-0x7FFF,
// but RFC 5766 §11 allowed all of 0x4000-0x7FFF and its clients (coturn's
// turnutils_uclient) still pick from there. tern's TURN client chooses and
// accepts RFC 8656's range (the default below); the relay accepts RFC 5766's, as
// coturn does. Either way a first byte of 0x40..0x7F is ChannelData.
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
inline constexpr uint16_t kChannelMax = 0x4FFF;         // RFC 8656's last
inline constexpr uint16_t kChannelMaxRfc5766 = 0x7FFF;  // RFC 5766's last

enum class ChannelRange : uint8_t {
  kRfc8656,  // 0x4000-0x4FFF: what tern's client binds and accepts
  kRfc5766,  // 0x4000-0x7FFF: what the relay accepts from RFC 5766 clients
};

constexpr bool is_valid_channel(uint16_t channel, ChannelRange range = ChannelRange::kRfc8656) {
  return channel >= kChannelMin &&
         channel <= (range == ChannelRange::kRfc8656 ? kChannelMax : kChannelMaxRfc5766);
}

enum class ChannelDataError : uint8_t {
  kTooShort,         // fewer than 4 bytes
  kNotChannelData,   // first byte outside 0x40..0x7F
  kReservedChannel,  // 0x5000..0x7FFF where only RFC 8656's range is accepted
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

// Parses a ChannelData message with a channel of `range`; bytes past Length
// (padding) are ignored.
[[nodiscard]] tl::expected<ChannelDataView, ChannelDataError> parse_channel_data(
    Bytes datagram, ChannelRange range = ChannelRange::kRfc8656);

// The size of a message carrying `data_size` bytes, with or without padding to 4.
constexpr size_t channel_data_size(size_t data_size, bool pad) {
  const size_t n = kChannelDataHeaderSize + data_size;
  return pad ? (n + 3) & ~size_t{3} : n;
}

// Writes the 4-byte header, so the caller can put (or already has) the data
// right after it; returns 4, or 0 when out is short, the channel is outside
// 0x4000-0x7FFF (the caller chose it: any bound one may be written) or data_size
// exceeds 65535.
[[nodiscard]] size_t write_channel_data_header(uint16_t channel, size_t data_size,
                                               MutableBytes out);
// Writes header, data and (if pad) zero padding; returns the size or 0 as above.
[[nodiscard]] size_t write_channel_data(uint16_t channel, Bytes data, bool pad, MutableBytes out);

}  // namespace tern::wire

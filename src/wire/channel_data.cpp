#include "wire/channel_data.hpp"

#include <cstring>

namespace tern::wire {

std::string_view channel_data_error_name(ChannelDataError e) {
  switch (e) {
    case ChannelDataError::kTooShort:
      return "too_short";
    case ChannelDataError::kNotChannelData:
      return "not_channel_data";
    case ChannelDataError::kReservedChannel:
      return "reserved_channel";
    case ChannelDataError::kBadLength:
      return "bad_length";
  }
  return "unknown";
}

tl::expected<ChannelDataView, ChannelDataError> parse_channel_data(Bytes d, ChannelRange range) {
  if (d.size() < kChannelDataHeaderSize) return tl::unexpected(ChannelDataError::kTooShort);
  if ((d[0] & 0xC0) != 0x40) return tl::unexpected(ChannelDataError::kNotChannelData);
  const auto channel = static_cast<uint16_t>((d[0] << 8) | d[1]);
  if (!is_valid_channel(channel, range)) return tl::unexpected(ChannelDataError::kReservedChannel);
  const size_t length = static_cast<size_t>((d[2] << 8) | d[3]);
  if (length > d.size() - kChannelDataHeaderSize) {
    return tl::unexpected(ChannelDataError::kBadLength);
  }
  return ChannelDataView{channel, d.subspan(kChannelDataHeaderSize, length)};
}

size_t write_channel_data_header(uint16_t channel, size_t data_size, MutableBytes out) {
  if (!is_valid_channel(channel, ChannelRange::kRfc5766) || data_size > 0xFFFF ||
      out.size() < kChannelDataHeaderSize) {
    return 0;
  }
  out[0] = static_cast<uint8_t>(channel >> 8);
  out[1] = static_cast<uint8_t>(channel);
  out[2] = static_cast<uint8_t>(data_size >> 8);
  out[3] = static_cast<uint8_t>(data_size);
  return kChannelDataHeaderSize;
}

size_t write_channel_data(uint16_t channel, Bytes data, bool pad, MutableBytes out) {
  const size_t total = channel_data_size(data.size(), pad);
  if (out.size() < total || write_channel_data_header(channel, data.size(), out) == 0) return 0;
  if (!data.empty()) std::memmove(out.data() + kChannelDataHeaderSize, data.data(), data.size());
  const size_t end = kChannelDataHeaderSize + data.size();
  std::memset(out.data() + end, 0, total - end);
  return total;
}

}  // namespace tern::wire

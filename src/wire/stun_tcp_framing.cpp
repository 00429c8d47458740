#include "wire/stun_tcp_framing.hpp"

#include <algorithm>
#include <cstring>

#include "wire/channel_data.hpp"
#include "wire/stun.hpp"

namespace tern::wire {

std::string_view stream_framing_error_name(StreamFramingError e) {
  switch (e) {
    case StreamFramingError::kNotStunOrChannelData:
      return "not_stun_or_channel_data";
    case StreamFramingError::kBadMagicCookie:
      return "bad_magic_cookie";
    case StreamFramingError::kTooLarge:
      return "too_large";
  }
  return "unknown";
}

StreamFrameSize stream_frame_size(Bytes head, size_t max_frame) {
  if (head.empty()) return std::nullopt;
  const uint8_t top = head[0] & 0xC0;
  if (top != 0x00 && top != 0x40) return tl::unexpected(StreamFramingError::kNotStunOrChannelData);
  if (head.size() < 4) return std::nullopt;
  const size_t length = static_cast<size_t>((head[2] << 8) | head[3]);
  size_t size = 0;
  if (top == 0x40) {
    size = channel_data_size(length, /*pad=*/true);
  } else {
    if (head.size() < 8) return std::nullopt;
    const uint32_t cookie = (uint32_t{head[4]} << 24) | (uint32_t{head[5]} << 16) |
                            (uint32_t{head[6]} << 8) | uint32_t{head[7]};
    if (cookie != kStunMagicCookie) return tl::unexpected(StreamFramingError::kBadMagicCookie);
    size = kStunHeaderSize + length;
  }
  if (size > max_frame) return tl::unexpected(StreamFramingError::kTooLarge);
  return size;
}

StunStreamFramer::StunStreamFramer(size_t max_frame) : buf_(std::max(max_frame, kStunHeaderSize)) {}

size_t StunStreamFramer::feed(Bytes data) {
  if (start_ > 0) {  // drop consumed frames: the unread tail moves to the front
    std::memmove(buf_.data(), buf_.data() + start_, end_ - start_);
    end_ -= start_;
    start_ = 0;
  }
  const size_t n = std::min(data.size(), buf_.size() - end_);
  if (n) std::memcpy(buf_.data() + end_, data.data(), n);
  end_ += n;
  return n;
}

tl::expected<std::optional<StreamFrame>, StreamFramingError> StunStreamFramer::next() {
  if (error_) return tl::unexpected(*error_);
  const Bytes head(buf_.data() + start_, end_ - start_);
  auto size = stream_frame_size(head, buf_.size());
  if (!size) {
    error_ = size.error();
    return tl::unexpected(*error_);
  }
  if (!*size || **size > head.size()) return std::nullopt;
  StreamFrame frame;
  if ((head[0] & 0xC0) == 0x40) {
    frame.kind = StreamFrameKind::kChannelData;
    const size_t length = static_cast<size_t>((head[2] << 8) | head[3]);
    frame.bytes = head.first(kChannelDataHeaderSize + length);
  } else {
    frame.kind = StreamFrameKind::kStun;
    frame.bytes = head.first(**size);
  }
  start_ += **size;
  return frame;
}

}  // namespace tern::wire

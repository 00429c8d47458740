// Framing of STUN messages and TURN ChannelData over a TCP or TLS stream
// (RFC 8489 §6.2.2, RFC 8656 §12.5): the two top bits of each frame tell them
// apart (00 STUN, 01 ChannelData), and each carries its own length. ChannelData
// is padded to 4 on a stream; a STUN message's length already is. Anything else
// (top bits 10 or 11, or a STUN frame without the magic cookie) means the stream
// is out of step or not STUN at all: the connection must be closed.
//
// StunStreamFramer buffers bytes as they arrive, in any pieces, and yields whole
// frames. Its buffer is allocated once, at the largest frame it accepts.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include <tl/expected.hpp>

#include "base/bytes.hpp"

namespace tern::wire {

// The largest frame either kind can have: a STUN message with a 65535-byte body.
inline constexpr size_t kStunStreamMaxFrame = 20 + 0xFFFF;

enum class StreamFrameKind : uint8_t { kStun, kChannelData };

struct StreamFrame {
  StreamFrameKind kind = StreamFrameKind::kStun;
  // The whole message: for STUN header and attributes, for ChannelData header and
  // data without the stream padding (so parse_channel_data() takes it as is).
  Bytes bytes;
};

enum class StreamFramingError : uint8_t {
  kNotStunOrChannelData,  // top bits 10 or 11
  kBadMagicCookie,        // top bits 00 but no magic cookie (TLS on a TCP port, say)
  kTooLarge,              // the frame is larger than the framer's limit
};
std::string_view stream_framing_error_name(StreamFramingError e);

using StreamFrameSize = tl::expected<std::optional<size_t>, StreamFramingError>;

// The size on the stream (padding included) of the frame at the head of `head`,
// nullopt while too few bytes are there to tell (up to 8 for STUN, 4 for
// ChannelData). For callers that frame in their own receive buffer.
[[nodiscard]] StreamFrameSize stream_frame_size(Bytes head, size_t max_frame = kStunStreamMaxFrame);

class StunStreamFramer {
 public:
  explicit StunStreamFramer(size_t max_frame = kStunStreamMaxFrame);

  // Copies in as much of `data` as the buffer has room for and returns how much
  // that was; when it is less than data.size(), take frames with next() and feed
  // the rest. Invalidates frames returned earlier.
  size_t feed(Bytes data);

  // The next whole frame (a view into the framer, valid until the next feed()),
  // nullopt when more bytes are needed, or the error that ends the stream. After
  // an error every call returns it again.
  [[nodiscard]] tl::expected<std::optional<StreamFrame>, StreamFramingError> next();

  size_t buffered() const { return end_ - start_; }
  size_t max_frame() const { return buf_.size(); }

 private:
  std::vector<uint8_t> buf_;
  size_t start_ = 0;
  size_t end_ = 0;
  std::optional<StreamFramingError> error_;
};

}  // namespace tern::wire

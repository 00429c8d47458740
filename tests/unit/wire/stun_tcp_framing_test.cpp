// Framing STUN and ChannelData on a TCP/TLS stream: whole frames out of
// arbitrary pieces, checked against the frame list the stream was made from;
// the errors that must close the connection.
#include "wire/stun_tcp_framing.hpp"

#include <gtest/gtest.h>

#include <random>
#include <string_view>
#include <vector>

#include "stun_test_util.hpp"
#include "wire/channel_data.hpp"
#include "wire/stun.hpp"
#include "wire/stun_builder.hpp"

namespace tern::wire {
namespace {

using test::hex;
using test::load_vector;
using test::text_bytes;

struct Expected {
  StreamFrameKind kind;
  std::vector<uint8_t> bytes;  // the frame as next() must return it
};

// A stream of STUN vectors and ChannelData frames of every padding remainder.
std::vector<Expected> frames(std::mt19937& rng) {
  std::vector<Expected> out;
  for (const char* name : {"rfc5769/sample_request.hex", "rfc5769/ipv4_response.hex",
                           "rfc5769/long_term_request.hex"}) {
    out.push_back({StreamFrameKind::kStun, load_vector(name)});
  }
  for (size_t len : {0, 1, 2, 3, 4, 5, 1197, 1200}) {
    std::vector<uint8_t> data(len);
    for (auto& b : data)
      b = static_cast<uint8_t>(rng());
    std::vector<uint8_t> frame(channel_data_size(len, false));
    EXPECT_EQ(write_channel_data(static_cast<uint16_t>(0x4000 + len), data, false, frame),
              frame.size());
    out.push_back({StreamFrameKind::kChannelData, frame});
  }
  std::shuffle(out.begin(), out.end(), rng);
  return out;
}

std::vector<uint8_t> stream_of(const std::vector<Expected>& fs) {
  std::vector<uint8_t> s;
  for (const auto& f : fs) {
    s.insert(s.end(), f.bytes.begin(), f.bytes.end());
    if (f.kind == StreamFrameKind::kChannelData) s.resize((s.size() + 3) & ~size_t{3}, 0);
  }
  return s;
}

TEST(StunStreamFramer, WholeFramesFromRandomPieces) {
  std::mt19937 rng(5);
  for (int round = 0; round < 200; ++round) {
    const auto expected = frames(rng);
    const auto stream = stream_of(expected);
    StunStreamFramer framer(round % 2 ? kStunStreamMaxFrame : 1500);
    std::vector<Expected> got;
    size_t pos = 0;
    while (pos < stream.size() || framer.buffered() > 0) {
      const size_t piece = round % 3 == 0 ? 1 : 1 + rng() % 700;
      const size_t n = std::min(piece, stream.size() - pos);
      pos += framer.feed(Bytes(stream).subspan(pos, n));
      for (;;) {
        auto f = framer.next();
        ASSERT_TRUE(f) << stream_framing_error_name(f.error());
        if (!*f) break;
        got.push_back({(*f)->kind, std::vector<uint8_t>((*f)->bytes.begin(), (*f)->bytes.end())});
      }
      if (pos == stream.size() && framer.buffered() > 0) {
        FAIL() << "bytes left over: " << framer.buffered();
      }
    }
    ASSERT_EQ(got.size(), expected.size());
    for (size_t i = 0; i < got.size(); ++i) {
      EXPECT_EQ(got[i].kind, expected[i].kind);
      EXPECT_EQ(hex(got[i].bytes), hex(expected[i].bytes));
      if (got[i].kind == StreamFrameKind::kStun) {
        EXPECT_TRUE(StunMessage::parse(got[i].bytes));
      } else {
        EXPECT_TRUE(parse_channel_data(got[i].bytes));
      }
    }
  }
}

TEST(StunStreamFramer, FeedStopsWhenFullAndResumes) {
  const auto msg = load_vector("rfc5769/sample_request.hex");  // 108 bytes
  std::vector<uint8_t> stream;
  for (int i = 0; i < 5; ++i)
    stream.insert(stream.end(), msg.begin(), msg.end());
  StunStreamFramer framer(150);
  size_t pos = 0, count = 0;
  while (pos < stream.size()) {
    const size_t n = framer.feed(Bytes(stream).subspan(pos));
    EXPECT_LE(framer.buffered(), 150u);
    pos += n;
    while (auto f = framer.next()) {
      if (!*f) break;
      EXPECT_EQ((*f)->bytes.size(), 108u);
      ++count;
    }
  }
  EXPECT_EQ(count, 5u);
}

TEST(StunStreamFramer, ErrorsEndTheStream) {
  {  // top bits 10
    StunStreamFramer f;
    const uint8_t b[] = {0x80, 0, 0, 0};
    f.feed(b);
    EXPECT_EQ(f.next().error(), StreamFramingError::kNotStunOrChannelData);
    EXPECT_EQ(f.next().error(), StreamFramingError::kNotStunOrChannelData);  // sticky
  }
  {  // a TLS ClientHello on the plain TCP port: 0x16 has top bits 00, no cookie
    StunStreamFramer f;
    const uint8_t hello[] = {0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc};
    f.feed(hello);
    EXPECT_EQ(f.next().error(), StreamFramingError::kBadMagicCookie);
  }
  {  // "GET / HTTP/1.1" reads as ChannelData 0x4745 of 0x5420 bytes: too large here
    StunStreamFramer f(4096);
    f.feed(text_bytes("GET / HTTP/1.1\r\n"));
    EXPECT_EQ(f.next().error(), StreamFramingError::kTooLarge);
  }
  {  // a STUN frame over the limit
    StunStreamFramer f(100);
    f.feed(load_vector("rfc5769/sample_request.hex"));
    EXPECT_EQ(f.next().error(), StreamFramingError::kTooLarge);
  }
}

TEST(StunStreamFramer, FrameSizeNeedsEnoughBytes) {
  ASSERT_TRUE(stream_frame_size({}));
  EXPECT_FALSE(*stream_frame_size({}));
  const auto msg = load_vector("rfc5769/ipv4_response.hex");
  for (size_t n = 1; n < 8; ++n) {
    auto s = stream_frame_size(Bytes(msg).first(n));
    ASSERT_TRUE(s);
    EXPECT_FALSE(*s) << n;
  }
  EXPECT_EQ(stream_frame_size(Bytes(msg).first(8)).value(), 80u);
  const uint8_t cd[] = {0x40, 0x00, 0x00, 0x05};
  EXPECT_FALSE(*stream_frame_size(Bytes(cd).first(3)));
  EXPECT_EQ(stream_frame_size(cd).value(), 12u);  // 4 + 5, padded to 12
}

}  // namespace
}  // namespace tern::wire

#include "wire/path_probe.hpp"

#include <gtest/gtest.h>

#include <numeric>
#include <vector>

#include "wire/wireguard.hpp"

namespace tern::wire {
namespace {

std::vector<uint8_t> probe_bytes(ProbeType type, size_t size) {
  std::vector<uint8_t> d(size);
  std::iota(d.begin(), d.end(), uint8_t{7});
  PathProbeHeader h;
  h.type = type;
  h.sender_hint = {1, 2, 3, 4, 5, 6, 7, 8};
  for (size_t i = 0; i < h.nonce.size(); ++i)
    h.nonce[i] = static_cast<uint8_t>(0xA0 + i);
  EXPECT_EQ(serialize_path_probe_header(h, d), kPathProbeHeaderSize);
  return d;
}

TEST(PathProbe, MagicIsNeitherWireGuardNorStunNorChannelData) {
  // WireGuard: type 1..4 then three zero bytes. STUN: top two bits 00. ChannelData: 0x40..0x7F.
  EXPECT_GE(kPathProbeMagic[0], 0x80);
  EXPECT_NE(kPathProbeMagic[1], 0);
  auto d = probe_bytes(ProbeType::kPing, kPathProbeMinSize);
  EXPECT_FALSE(classify(d).has_value());
  EXPECT_TRUE(is_path_probe(d));
  // Anything that is one of the others is not a probe.
  for (uint8_t first : {0x00, 0x01, 0x04, 0x3F, 0x40, 0x7F, 0x80, 0xF3, 0xF5, 0xFF}) {
    auto other = d;
    other[0] = first;
    EXPECT_FALSE(is_path_probe(other)) << int{first};
  }
  EXPECT_FALSE(is_path_probe(Bytes(d.data(), 3)));
  EXPECT_TRUE(is_path_probe(Bytes(d.data(), 4)));
}

TEST(PathProbe, HeaderRoundTrip) {
  for (ProbeType type : {ProbeType::kPing, ProbeType::kPong}) {
    auto d = probe_bytes(type, 200);
    auto v = parse_path_probe(d);
    ASSERT_TRUE(v);
    EXPECT_EQ(v->header.type, type);
    EXPECT_EQ(v->header.flags, 0);
    EXPECT_EQ(v->header.sender_hint, (ProbeHint{1, 2, 3, 4, 5, 6, 7, 8}));
    EXPECT_EQ(v->header.nonce[0], 0xA0);
    EXPECT_EQ(v->header.nonce[23], 0xA0 + 23);
    EXPECT_EQ(v->header_bytes.data(), d.data());
    EXPECT_EQ(v->header_bytes.size(), kPathProbeHeaderSize);
    EXPECT_EQ(v->sealed.data(), d.data() + kPathProbeHeaderSize);
    EXPECT_EQ(v->sealed.size(), 200 - kPathProbeHeaderSize);
    std::vector<uint8_t> again(kPathProbeHeaderSize);
    EXPECT_EQ(serialize_path_probe_header(v->header, again), kPathProbeHeaderSize);
    EXPECT_TRUE(std::equal(again.begin(), again.end(), d.begin()));
  }
}

TEST(PathProbe, HeaderBytesAreWhereTheDiagramSaysAndBigEndian) {
  PathProbeHeader h;
  h.type = ProbeType::kPong;
  h.flags = 0x1234;
  std::vector<uint8_t> d(kPathProbeHeaderSize);
  ASSERT_EQ(serialize_path_probe_header(h, d), kPathProbeHeaderSize);
  EXPECT_EQ(d[0], 0xF4);
  EXPECT_EQ(d[1], 'e');
  EXPECT_EQ(d[2], 'r');
  EXPECT_EQ(d[3], 'n');
  EXPECT_EQ(d[4], kPathProbeVersion);
  EXPECT_EQ(d[5], 2);
  EXPECT_EQ(d[6], 0x12);
  EXPECT_EQ(d[7], 0x34);
  std::vector<uint8_t> small(kPathProbeHeaderSize - 1);
  EXPECT_EQ(serialize_path_probe_header(h, small), 0u);
}

TEST(PathProbe, SizeLimits) {
  EXPECT_EQ(kPathProbeMinSize, 92u);
  EXPECT_FALSE(parse_path_probe(probe_bytes(ProbeType::kPing, kPathProbeMinSize - 1)));
  EXPECT_TRUE(parse_path_probe(probe_bytes(ProbeType::kPing, kPathProbeMinSize)));
  EXPECT_TRUE(parse_path_probe(probe_bytes(ProbeType::kPing, 9000)));
  EXPECT_TRUE(parse_path_probe(probe_bytes(ProbeType::kPing, kPathProbeMaxSize)));
  EXPECT_FALSE(parse_path_probe(probe_bytes(ProbeType::kPing, kPathProbeMaxSize + 1)));
  // Every truncation of a valid probe below the minimum fails without reading past the end.
  auto d = probe_bytes(ProbeType::kPong, kPathProbeMinSize);
  for (size_t n = 0; n < kPathProbeMinSize; ++n)
    EXPECT_FALSE(parse_path_probe(Bytes(d.data(), n))) << n;
}

TEST(PathProbe, RejectsUnknownVersionAndType) {
  auto d = probe_bytes(ProbeType::kPing, 100);
  for (uint8_t version : {0, 2, 255}) {
    auto bad = d;
    bad[4] = version;
    EXPECT_TRUE(is_path_probe(bad));  // still ours: dropped as malformed, never misrouted
    EXPECT_FALSE(parse_path_probe(bad)) << int{version};
  }
  for (uint8_t type : {0, 3, 255}) {
    auto bad = d;
    bad[5] = type;
    EXPECT_FALSE(parse_path_probe(bad)) << int{type};
  }
}

TEST(PathProbeBody, RoundTripWithEveryObservedForm) {
  PathProbeBody ping;
  for (size_t i = 0; i < ping.tx_id.size(); ++i)
    ping.tx_id[i] = static_cast<uint8_t>(i * 17);
  ping.overlay_mtu = 1420;
  PathProbeBody pong4 = ping;
  pong4.answered_size = 1400;
  pong4.observed = Endpoint::parse("198.51.100.9:40000");
  PathProbeBody pong6 = pong4;
  pong6.observed = Endpoint::parse("[2001:db8::1:2]:65535");
  PathProbeBody mapped = pong4;
  mapped.observed = Endpoint::parse("[::ffff:192.0.2.1]:1");

  for (const PathProbeBody& b : {ping, pong4, pong6, mapped}) {
    std::vector<uint8_t> buf(kPathProbeBodySize + 10, 0xEE);  // padding is ignored
    ASSERT_EQ(serialize_path_probe_body(b, buf), kPathProbeBodySize);
    auto parsed = parse_path_probe_body(buf);
    ASSERT_TRUE(parsed);
    EXPECT_EQ(*parsed, b);
  }
}

TEST(PathProbeBody, LayoutAndStrictness) {
  PathProbeBody b;
  b.overlay_mtu = 0x0102;
  b.answered_size = 0x0304;
  b.observed = Endpoint::parse("192.0.2.1:258");
  std::vector<uint8_t> buf(kPathProbeBodySize);
  ASSERT_EQ(serialize_path_probe_body(b, buf), kPathProbeBodySize);
  EXPECT_EQ(buf[12], 1);
  EXPECT_EQ(buf[13], 2);
  EXPECT_EQ(buf[14], 3);
  EXPECT_EQ(buf[15], 4);
  EXPECT_EQ(buf[16], 4);  // family
  EXPECT_EQ(buf[17], 0);
  EXPECT_EQ(buf[18], 1);  // port 258
  EXPECT_EQ(buf[19], 2);
  EXPECT_EQ(buf[20], 192);
  EXPECT_EQ(buf[23], 1);

  for (size_t n = 0; n < kPathProbeBodySize; ++n)
    EXPECT_FALSE(parse_path_probe_body(Bytes(buf.data(), n))) << n;
  auto bad_family = buf;
  bad_family[16] = 5;
  EXPECT_FALSE(parse_path_probe_body(bad_family));
  auto bad_reserved = buf;
  bad_reserved[17] = 1;
  EXPECT_FALSE(parse_path_probe_body(bad_reserved));
  auto v4_tail = buf;
  v4_tail[35] = 1;  // bytes after an IPv4 address must be zero
  EXPECT_FALSE(parse_path_probe_body(v4_tail));
  auto none_with_port = buf;
  none_with_port[16] = 0;  // no address, yet port and address bytes set
  EXPECT_FALSE(parse_path_probe_body(none_with_port));

  std::vector<uint8_t> small(kPathProbeBodySize - 1);
  EXPECT_EQ(serialize_path_probe_body(b, small), 0u);
}

}  // namespace
}  // namespace tern::wire

#include "wire/gso_split.hpp"

#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "wire/packet_builder.hpp"

namespace tern::wire {
namespace {

using test::build_packet;
using test::L4Spec;

// A super-packet as the TUN hands it over: headers of the first packet, the whole payload, and
// a partial transport checksum (the pseudo-header sum) as the kernel leaves it.
struct Super {
  std::vector<uint8_t> packet;
  VirtioNetHeader header;
};

Super make_super(const L4Spec& s, uint16_t gso_size) {
  Super out;
  out.packet = build_packet(s);
  const size_t ih = test::ip_header_size(s);
  const size_t field = ih + (s.tcp ? 16 : 6);
  test::put16(out.packet, field, test::partial_pseudo(out.packet));
  out.header.flags = kVirtioNetNeedsCsum;
  out.header.gso_type =
      s.tcp ? (s.v6 ? kVirtioNetGsoTcpV6 : kVirtioNetGsoTcpV4) : kVirtioNetGsoUdpL4;
  out.header.hdr_len = static_cast<uint16_t>(std::min<size_t>(out.packet.size(), 0xffff));
  out.header.gso_size = gso_size;
  out.header.csum_start = static_cast<uint16_t>(ih);
  out.header.csum_offset = s.tcp ? 16 : 6;
  return out;
}

// The packets the kernel would have sent without TSO/USO, built field by field.
std::vector<std::vector<uint8_t>> reference_segments(const L4Spec& s, size_t gso_size) {
  std::vector<std::vector<uint8_t>> out;
  const size_t n = s.payload.empty() ? 1 : (s.payload.size() + gso_size - 1) / gso_size;
  for (size_t i = 0; i < n; ++i) {
    L4Spec seg = s;
    const size_t off = i * gso_size;
    const size_t len = s.payload.empty() ? 0 : std::min(gso_size, s.payload.size() - off);
    seg.payload.assign(s.payload.begin() + static_cast<long>(off),
                       s.payload.begin() + static_cast<long>(off + len));
    seg.seq = s.seq + static_cast<uint32_t>(off);
    seg.ip_id = static_cast<uint16_t>(s.ip_id + i);
    if (i + 1 < n) seg.flags &= static_cast<uint8_t>(~0x09);  // FIN, PSH only on the last
    if (i > 0) seg.flags &= static_cast<uint8_t>(~0x80);      // CWR only on the first
    out.push_back(build_packet(seg));
  }
  return out;
}

std::vector<std::vector<uint8_t>> split(const Super& sp) {
  auto f = parse_gso_frame(sp.header, sp.packet);
  EXPECT_TRUE(f);
  if (!f) return {};
  std::vector<std::vector<uint8_t>> out;
  for (size_t i = 0; i < f->segment_count; ++i) {
    std::vector<uint8_t> buf(f->max_packet_size + 7, 0xee);
    const size_t n = write_gso_segment(*f, sp.packet, i, buf);
    EXPECT_GT(n, 0u);
    EXPECT_LE(n, f->max_packet_size);
    buf.resize(n);
    out.push_back(buf);
  }
  return out;
}

L4Spec tcp_spec(bool v6, size_t payload) {
  L4Spec s;
  s.v6 = v6;
  if (v6) {
    const uint8_t a[16] = {0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    const uint8_t b[16] = {0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2};
    std::copy(a, a + 16, s.src);
    std::copy(b, b + 16, s.dst);
  }
  s.options = {1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2};  // NOP NOP timestamps
  s.flags = 0x18;                                     // ACK PSH
  s.seq = 0xfffff000;                                 // wraps during the train
  s.ip_id = 0xfffe;                                   // wraps too
  s.payload = test::payload_pattern(payload, 3);
  return s;
}

TEST(GsoSplit, TcpV4TrainMatchesTheKernelsSegments) {
  L4Spec s = tcp_spec(false, 10000);
  s.flags = 0x19 | 0x80;  // FIN PSH ACK CWR
  auto sp = make_super(s, 1368);
  auto got = split(sp);
  auto want = reference_segments(s, 1368);
  ASSERT_EQ(got.size(), 8u);
  EXPECT_EQ(got, want);
  for (const auto& p : got)
    EXPECT_TRUE(test::checksums_valid(p));
}

TEST(GsoSplit, TcpV6TrainMatchesTheKernelsSegments) {
  L4Spec s = tcp_spec(true, 4000);
  auto sp = make_super(s, 1000);
  auto got = split(sp);
  ASSERT_EQ(got.size(), 4u);
  EXPECT_EQ(got, reference_segments(s, 1000));
}

TEST(GsoSplit, UdpTrainsBothFamilies) {
  for (bool v6 : {false, true}) {
    L4Spec s = tcp_spec(v6, 3333);
    s.tcp = false;
    s.options.clear();
    auto sp = make_super(s, 1200);
    auto got = split(sp);
    ASSERT_EQ(got.size(), 3u);
    EXPECT_EQ(got, reference_segments(s, 1200)) << "v6 " << v6;
    for (const auto& p : got)
      EXPECT_TRUE(test::checksums_valid(p));
  }
}

TEST(GsoSplit, RandomTrainsMatchTheReference) {
  std::mt19937 rng(5);
  for (int iter = 0; iter < 300; ++iter) {
    L4Spec s = tcp_spec(rng() % 2, 1 + rng() % 20000);
    s.tcp = rng() % 4 != 0;
    s.options.assign(s.tcp ? 4 * (rng() % 11) : 0, 0);
    for (auto& b : s.options)
      b = static_cast<uint8_t>(rng());
    s.flags = static_cast<uint8_t>(rng());
    s.seq = static_cast<uint32_t>(rng());
    s.ip_id = static_cast<uint16_t>(rng());
    s.tos = static_cast<uint8_t>(rng());
    const uint16_t gso = static_cast<uint16_t>(1 + rng() % 3000);
    auto sp = make_super(s, gso);
    ASSERT_EQ(split(sp), reference_segments(s, gso)) << "iteration " << iter;
  }
}

TEST(GsoSplit, PiecesCanBeWrittenInAnyOrderAndOutOfRangeIsRefused) {
  L4Spec s = tcp_spec(false, 5000);
  auto sp = make_super(s, 1000);
  auto f = parse_gso_frame(sp.header, sp.packet);
  ASSERT_TRUE(f);
  auto want = reference_segments(s, 1000);
  std::vector<uint8_t> buf(2000);
  for (size_t i : {4u, 0u, 2u}) {
    const size_t n = write_gso_segment(*f, sp.packet, i, buf);
    EXPECT_EQ(std::vector<uint8_t>(buf.begin(), buf.begin() + static_cast<long>(n)), want[i]);
  }
  EXPECT_EQ(write_gso_segment(*f, sp.packet, 5, buf), 0u);
  std::vector<uint8_t> small(want[0].size() - 1);
  EXPECT_EQ(write_gso_segment(*f, sp.packet, 0, small), 0u);
}

TEST(GsoSplit, InconsistentHeadersAreRefused) {
  L4Spec s = tcp_spec(false, 3000);
  const auto good = make_super(s, 1000);
  ASSERT_TRUE(parse_gso_frame(good.header, good.packet));
  auto refused = [&](auto mutate) {
    Super sp = good;
    mutate(sp);
    return !parse_gso_frame(sp.header, sp.packet).has_value();
  };
  EXPECT_TRUE(refused([](Super& sp) { sp.header.gso_type = kVirtioNetGsoNone; }));
  EXPECT_TRUE(refused([](Super& sp) { sp.header.gso_type = kVirtioNetGsoUdp; }));
  EXPECT_TRUE(refused([](Super& sp) { sp.header.gso_type = kVirtioNetGsoTcpV6; }));
  EXPECT_TRUE(refused([](Super& sp) { sp.header.gso_size = 0; }));
  EXPECT_TRUE(refused([](Super& sp) { sp.header.csum_offset = 6; }));
  EXPECT_TRUE(refused([](Super& sp) { sp.header.csum_start = 24; }));
  EXPECT_TRUE(refused([](Super& sp) { sp.packet[9] = 17; }));           // not TCP
  EXPECT_TRUE(refused([](Super& sp) { sp.packet[6] |= 0x20; }));        // more fragments
  EXPECT_TRUE(refused([](Super& sp) { sp.packet[0] = 0x65; }));         // IPv6 in a TCPv4 frame
  EXPECT_TRUE(refused([](Super& sp) { sp.packet[32] = 0x40; }));        // TCP header of 16 bytes
  EXPECT_TRUE(refused([](Super& sp) { sp.packet.resize(35); }));        // header cut short
  EXPECT_TRUE(refused([](Super& sp) { sp.header.gso_size = 65535; }));  // beyond an IP length
  EXPECT_TRUE(refused([](Super& sp) { sp.packet.clear(); }));
  // hdr_len is only a hint: the kernel may put the whole linear part there.
  EXPECT_FALSE(refused([](Super& sp) { sp.header.hdr_len = 7; }));
}

TEST(GsoSplit, CompletesAPartialChecksum) {
  for (bool tcp : {true, false}) {
    for (bool v6 : {false, true}) {
      L4Spec s = tcp_spec(v6, 777);
      s.tcp = tcp;
      if (!tcp) s.options.clear();
      const auto want = build_packet(s);
      auto sp = make_super(s, 2000);
      sp.header.gso_type = kVirtioNetGsoNone;
      ASSERT_NE(sp.packet, want);
      ASSERT_TRUE(complete_partial_checksum(sp.packet, sp.header));
      EXPECT_EQ(sp.packet, want) << "tcp " << tcp << " v6 " << v6;
    }
  }
  std::vector<uint8_t> p(40);
  VirtioNetHeader h;
  h.csum_start = 20;
  h.csum_offset = 19;
  EXPECT_FALSE(complete_partial_checksum(p, h));
  h.csum_start = 40;
  h.csum_offset = 0;
  EXPECT_FALSE(complete_partial_checksum(p, h));
}

}  // namespace
}  // namespace tern::wire

#include "wire/ipv4_fragment.hpp"

#include <gtest/gtest.h>

#include <map>
#include <random>

#include "tun_packets.hpp"
#include "wire/ip_upper_layer.hpp"

namespace tern::wire {
namespace {

using namespace testing;

struct Fragments {
  std::vector<std::vector<uint8_t>> list;
};

Fragments fragment(const std::vector<uint8_t>& p, size_t mtu) {
  std::vector<uint8_t> out(p.size() * 2 + 4096);
  std::vector<size_t> sizes(512);
  const size_t n = fragment_ipv4(p, mtu, out, sizes);
  Fragments f;
  size_t at = 0;
  for (size_t i = 0; i < n; ++i) {
    f.list.push_back(slice(out, at, at + sizes[i]));
    at += sizes[i];
  }
  return f;
}

uint16_t be16(const std::vector<uint8_t>& p, size_t at) {
  return static_cast<uint16_t>((p[at] << 8) | p[at + 1]);
}

// A receiver's reassembly (RFC 791 §3.2), written plainly: place each fragment's data at
// offset * 8, and check that the pieces tile the payload exactly once with MF clear only at
// the end. Returns the payload, or an empty vector if anything is off.
std::vector<uint8_t> reassemble(const Fragments& f, const std::vector<uint8_t>& original) {
  std::map<size_t, std::vector<uint8_t>> pieces;
  bool saw_last = false;
  for (const auto& frag : f.list) {
    const size_t ihl = size_t{frag[0] & 0x0fu} * 4;
    if (slow_checksum(slice(frag, 0, ihl)) != 0) return {};
    if (be16(frag, 2) != frag.size()) return {};
    if (be16(frag, 4) != be16(original, 4) || frag[9] != original[9]) return {};
    if (slice(frag, 12, 20) != slice(original, 12, 20)) return {};
    const uint16_t fl = be16(frag, 6);
    if (fl & 0x4000) return {};
    const bool more = fl & 0x2000;
    const size_t offset = size_t{fl & 0x1fffu} * 8;
    const auto data = slice(frag, ihl, frag.size());
    if (more && data.size() % 8 != 0) return {};
    if (!more) saw_last = true;
    pieces[offset] = data;
  }
  if (!saw_last) return {};
  std::vector<uint8_t> payload;
  for (const auto& [offset, data] : pieces) {
    const size_t base = size_t{be16(original, 6) & 0x1fffu} * 8;
    if (offset != base + payload.size()) return {};
    payload.insert(payload.end(), data.begin(), data.end());
  }
  return payload;
}

std::vector<uint8_t> data(size_t n, uint8_t seed = 1) {
  std::vector<uint8_t> d(n);
  for (size_t i = 0; i < n; ++i)
    d[i] = static_cast<uint8_t>(i * 13 + seed);
  return d;
}

Ipv4Options no_df() {
  Ipv4Options o;
  o.dont_fragment = false;
  return o;
}

TEST(Ipv4Fragment, SplitsIntoEightByteUnitsAndReassembles) {
  auto p = ipv4("10.7.0.2", "10.7.0.9", kProtoUdp, data(1480), no_df());
  auto f = fragment(p, 576);
  ASSERT_EQ(f.list.size(), 3u);
  EXPECT_EQ(ipv4_fragment_count(p, 576), 3u);
  // (576 - 20) / 8 * 8 = 552 data bytes per full fragment.
  EXPECT_EQ(f.list[0].size(), 572u);
  EXPECT_EQ(f.list[1].size(), 572u);
  EXPECT_EQ(f.list[2].size(), 20u + 1480 - 2 * 552);
  EXPECT_EQ(be16(f.list[0], 6), 0x2000);  // MF, offset 0
  EXPECT_EQ(be16(f.list[1], 6), 0x2000 | 69);
  EXPECT_EQ(be16(f.list[2], 6), 138);
  for (const auto& frag : f.list)
    EXPECT_LE(frag.size(), 576u);
  EXPECT_EQ(reassemble(f, p), data(1480));
}

TEST(Ipv4Fragment, OnlyCopiedOptionsGoIntoLaterFragments) {
  Ipv4Options o = no_df();
  // Record route (not copied, 7 bytes) + NOP, then router alert (copied, 4 bytes).
  o.options = {7, 7, 4, 0, 0, 0, 0, 1, 0x94, 4, 0, 0};
  auto p = ipv4("10.7.0.2", "10.7.0.9", kProtoUdp, data(1000), o);
  auto f = fragment(p, 500);
  ASSERT_GE(f.list.size(), 3u);
  EXPECT_EQ(f.list[0][0], 0x48);  // IHL 8: all options
  EXPECT_EQ(slice(f.list[0], 20, 32), o.options);
  for (size_t i = 1; i < f.list.size(); ++i) {
    EXPECT_EQ(f.list[i][0], 0x46);  // IHL 6: router alert only
    EXPECT_EQ(slice(f.list[i], 20, 24), (std::vector<uint8_t>{0x94, 4, 0, 0}));
  }
  EXPECT_EQ(reassemble(f, p), data(1000));
}

TEST(Ipv4Fragment, AFragmentCanBeFragmentedAgain) {
  Ipv4Options o = no_df();
  o.fragment_offset = 100;
  o.more_fragments = true;
  auto p = ipv4("10.7.0.2", "10.7.0.9", kProtoUdp, data(1200), o);
  auto f = fragment(p, 600);
  ASSERT_EQ(f.list.size(), 3u);
  for (const auto& frag : f.list)
    EXPECT_TRUE(be16(frag, 6) & 0x2000);  // the original had more after it
  EXPECT_EQ(be16(f.list[0], 6) & 0x1fff, 100);
  // Reassembled from offset 800 on, the data is the original's.
  std::vector<uint8_t> got;
  for (const auto& frag : f.list) {
    auto d = slice(frag, 20, frag.size());
    got.insert(got.end(), d.begin(), d.end());
  }
  EXPECT_EQ(got, data(1200));
}

TEST(Ipv4Fragment, Refusals) {
  auto df = ipv4("10.7.0.2", "10.7.0.9", kProtoUdp, data(1480));
  EXPECT_TRUE(fragment(df, 576).list.empty());
  auto p = ipv4("10.7.0.2", "10.7.0.9", kProtoUdp, data(1480), no_df());
  EXPECT_TRUE(fragment(p, 1500).list.empty());  // fits
  EXPECT_TRUE(fragment(p, 27).list.empty());    // no room for 8 data bytes
  EXPECT_EQ(fragment(p, 28).list.size(), 185u);
  std::vector<uint8_t> out(1000);
  std::vector<size_t> sizes(8);
  EXPECT_EQ(fragment_ipv4(p, 576, out, sizes), 0u);  // out too small
  std::vector<uint8_t> big(4000);
  std::vector<size_t> two(2);
  EXPECT_EQ(fragment_ipv4(p, 576, big, two), 0u);  // too few sizes
  Ipv4Options bad = no_df();
  bad.options = {0x94, 9, 0, 0};  // option runs past the header
  EXPECT_TRUE(fragment(ipv4("10.7.0.2", "10.7.0.9", kProtoUdp, data(1480), bad), 576).list.empty());
  Ipv4Options late = no_df();
  late.fragment_offset = 0x1fff - 10;  // the pieces' offsets would overflow 13 bits
  EXPECT_TRUE(
      fragment(ipv4("10.7.0.2", "10.7.0.9", kProtoUdp, data(1480), late), 576).list.empty());
  auto v6 = ipv6("fd00::1", "fd00::2", kProtoUdp, data(1480));
  EXPECT_TRUE(fragment(v6, 576).list.empty());
}

TEST(Ipv4Fragment, RandomPacketsReassembleExactly) {
  std::mt19937 rng(791);
  for (int i = 0; i < 2000; ++i) {
    Ipv4Options o = no_df();
    const size_t option_words = rng() % 4;
    for (size_t w = 0; w < option_words; ++w) {
      // Either a copied 4-byte option or a non-copied one, or NOPs.
      switch (rng() % 3) {
        case 0:
          o.options.insert(o.options.end(), {0x94, 4, 0, 0});
          break;
        case 1:
          o.options.insert(o.options.end(), {0x1e, 4, 1, 2});
          break;
        default:
          o.options.insert(o.options.end(), {1, 1, 1, 1});
      }
    }
    const size_t size = 1 + rng() % 9000;
    auto p = ipv4("192.0.2.1", "198.51.100.2", kProtoUdp, data(size, static_cast<uint8_t>(i)), o);
    const size_t mtu = 68 + rng() % 1500;
    auto f = fragment(p, mtu);
    if (p.size() <= mtu) {
      ASSERT_TRUE(f.list.empty());
      continue;
    }
    ASSERT_FALSE(f.list.empty()) << i;
    ASSERT_EQ(f.list.size(), ipv4_fragment_count(p, mtu));
    for (const auto& frag : f.list)
      ASSERT_LE(frag.size(), mtu);
    ASSERT_EQ(reassemble(f, p), data(size, static_cast<uint8_t>(i))) << i;
  }
}

}  // namespace
}  // namespace tern::wire

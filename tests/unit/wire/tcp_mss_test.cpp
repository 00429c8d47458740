#include "wire/tcp_mss.hpp"

#include <gtest/gtest.h>

#include <random>

#include "tun_packets.hpp"
#include "wire/ip_upper_layer.hpp"

namespace tern::wire {
namespace {

using namespace testing;

constexpr uint8_t kSyn = 0x02;
constexpr uint8_t kAck = 0x10;

std::vector<uint8_t> mss_option(uint16_t mss) {
  return {2, 4, static_cast<uint8_t>(mss >> 8), static_cast<uint8_t>(mss)};
}

std::vector<uint8_t> v4_segment(uint8_t flags, const std::vector<uint8_t>& options,
                                size_t data = 0) {
  auto p = ipv4("10.7.0.2", "10.7.0.9", kProtoTcp, tcp(flags, options, data));
  fix_upper_checksum(p, 20, 16, kProtoTcp);
  return p;
}

std::vector<uint8_t> v6_segment(uint8_t flags, const std::vector<uint8_t>& options,
                                size_t data = 0) {
  auto p = ipv6("fd00::2", "fd00::9", kProtoTcp, tcp(flags, options, data));
  fix_upper_checksum(p, 40, 16, kProtoTcp);
  return p;
}

uint16_t mss_at(const std::vector<uint8_t>& p, size_t at) {
  return static_cast<uint16_t>((p[at] << 8) | p[at + 1]);
}

TEST(TcpMss, MssForMtu) {
  EXPECT_EQ(mss_for_mtu(1420, false), 1380);
  EXPECT_EQ(mss_for_mtu(1420, true), 1360);
  EXPECT_EQ(mss_for_mtu(1280, true), 1220);
  EXPECT_EQ(mss_for_mtu(40, false), 0);
  EXPECT_EQ(mss_for_mtu(100000, false), 0xffff);
}

TEST(TcpMss, SynIsClampedAndItsChecksumStaysValid) {
  auto p = v4_segment(kSyn, mss_option(1460));
  ASSERT_TRUE(upper_checksum_ok(p, 20, kProtoTcp));
  EXPECT_EQ(clamp_tcp_mss(p, 1380), MssClamp::kClamped);
  EXPECT_EQ(mss_at(p, 42), 1380);
  EXPECT_TRUE(upper_checksum_ok(p, 20, kProtoTcp));
  // Again: already small enough.
  const auto before = p;
  EXPECT_EQ(clamp_tcp_mss(p, 1380), MssClamp::kUnchanged);
  EXPECT_EQ(p, before);
}

TEST(TcpMss, SynAckOverIpv6WithTheOptionAtAnOddOffset) {
  // NOP, MSS, NOP, NOP, NOP: the MSS value sits at TCP offset 23.
  std::vector<uint8_t> options = {1, 2, 4, 0x23, 0x28, 1, 1, 1};
  auto p = v6_segment(kSyn | kAck, options, 10);
  EXPECT_EQ(clamp_tcp_mss(p, 1360), MssClamp::kClamped);
  EXPECT_EQ(mss_at(p, 40 + 23), 1360);
  EXPECT_TRUE(upper_checksum_ok(p, 40, kProtoTcp));
}

TEST(TcpMss, WhatIsLeftAlone) {
  auto no_syn = v4_segment(kAck, mss_option(1460));
  EXPECT_EQ(clamp_tcp_mss(no_syn, 1000), MssClamp::kNotApplicable);
  auto no_option = v4_segment(kSyn, {1, 1, 1, 0});
  EXPECT_EQ(clamp_tcp_mss(no_option, 1000), MssClamp::kUnchanged);
  auto malformed = v4_segment(kSyn, {3, 0, 2, 4, 5, 0xb4, 0, 0});  // an option of length 0
  const auto copy = malformed;
  EXPECT_EQ(clamp_tcp_mss(malformed, 1000), MssClamp::kUnchanged);
  EXPECT_EQ(malformed, copy);
  auto udp = ipv4("10.7.0.2", "10.7.0.9", kProtoUdp, std::vector<uint8_t>(40, 2));
  EXPECT_EQ(clamp_tcp_mss(udp, 1000), MssClamp::kNotApplicable);
  Ipv4Options later;
  later.dont_fragment = false;
  later.fragment_offset = 8;
  auto fragment = ipv4("10.7.0.2", "10.7.0.9", kProtoTcp, tcp(kSyn, mss_option(1460)), later);
  EXPECT_EQ(clamp_tcp_mss(fragment, 1000), MssClamp::kNotApplicable);
  auto truncated = v4_segment(kSyn, mss_option(1460));
  truncated.resize(30);
  truncated[3] = 30;
  EXPECT_EQ(clamp_tcp_mss(truncated, 1000), MssClamp::kNotApplicable);
}

TEST(TcpMss, PartialChecksumIsNotTouched) {
  auto p = v4_segment(kSyn, mss_option(1460));
  p[36] = 0x12;  // an offloaded packet: the field holds the pseudo-header sum
  p[37] = 0x34;
  EXPECT_EQ(clamp_tcp_mss(p, 1380, true), MssClamp::kClamped);
  EXPECT_EQ(p[36], 0x12);
  EXPECT_EQ(p[37], 0x34);
  EXPECT_EQ(mss_at(p, 42), 1380);
}

TEST(TcpMss, IncrementalUpdateMatchesRecomputation) {
  std::mt19937 rng(1624);
  // RFC 1624 §3: a field changing to or from values whose sum is 0xffff / 0 must not leave
  // -0 where +0 belongs.
  EXPECT_EQ(checksum_update16(0xdd2f, 0x5555, 0x3285), 0x0000);
  for (int i = 0; i < 5000; ++i) {
    const bool v6 = rng() % 2;
    // Random NOP padding in front puts the option at either parity.
    const size_t nops = rng() % 4;
    std::vector<uint8_t> options(nops, 1);
    const uint16_t mss = static_cast<uint16_t>(rng());
    auto m = mss_option(mss);
    options.insert(options.end(), m.begin(), m.end());
    while (options.size() % 4)
      options.push_back(0);
    const uint8_t flags = static_cast<uint8_t>(kSyn | (rng() % 2 ? kAck : 0));
    auto p = v6 ? v6_segment(flags, options, rng() % 200) : v4_segment(flags, options, rng() % 200);
    const size_t offset = v6 ? 40 : 20;
    const uint16_t limit = static_cast<uint16_t>(rng());
    const auto result = clamp_tcp_mss(p, limit);
    ASSERT_EQ(result, mss > limit ? MssClamp::kClamped : MssClamp::kUnchanged);
    ASSERT_TRUE(upper_checksum_ok(p, offset, kProtoTcp)) << i;
    ASSERT_EQ(mss_at(p, offset + 20 + nops + 2), std::min(mss, limit));
  }
}

TEST(TcpMss, ChecksumUpdateAgainstAReferenceOnRandomWords) {
  std::mt19937 rng(3);
  for (int i = 0; i < 20000; ++i) {
    std::vector<uint8_t> data(2 * (1 + rng() % 20));
    for (auto& b : data)
      b = static_cast<uint8_t>(rng());
    const uint16_t hc = slow_checksum(data);
    const size_t w = 2 * (rng() % (data.size() / 2));
    const uint16_t m = static_cast<uint16_t>((data[w] << 8) | data[w + 1]);
    const uint16_t m2 = static_cast<uint16_t>(rng());
    data[w] = static_cast<uint8_t>(m2 >> 8);
    data[w + 1] = static_cast<uint8_t>(m2);
    const uint16_t updated = checksum_update16(hc, m, m2);
    // Both forms of zero verify; the data with the updated checksum must sum to zero.
    data.push_back(static_cast<uint8_t>(updated >> 8));
    data.push_back(static_cast<uint8_t>(updated));
    ASSERT_EQ(slow_checksum(data), 0) << i;
  }
}

}  // namespace
}  // namespace tern::wire

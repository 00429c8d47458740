#include "wire/icmp_too_big.hpp"

#include <gtest/gtest.h>

#include <random>

#include "tun_packets.hpp"
#include "wire/ip_upper_layer.hpp"

namespace tern::wire {
namespace {

using namespace testing;

std::vector<uint8_t> build(const std::vector<uint8_t>& packet, size_t mtu) {
  std::vector<uint8_t> out(kPacketTooBigMaxSize);
  const size_t n = build_packet_too_big(packet, mtu, out);
  out.resize(n);
  return out;
}

std::vector<uint8_t> udp_payload(size_t n) {
  std::vector<uint8_t> d(n);
  for (size_t i = 0; i < n; ++i)
    d[i] = static_cast<uint8_t>(i);
  return d;
}

// Checks an ICMPv4 error against the packet it answers.
void expect_valid_v4(const std::vector<uint8_t>& icmp, const std::vector<uint8_t>& original,
                     size_t mtu) {
  ASSERT_GE(icmp.size(), 28u);
  EXPECT_EQ(icmp[0], 0x45);
  EXPECT_EQ((size_t{icmp[2]} << 8) | icmp[3], icmp.size());
  EXPECT_EQ(icmp[9], kProtoIcmp);
  EXPECT_EQ(slow_checksum(slice(icmp, 0, 20)), 0) << "IPv4 header checksum";
  EXPECT_TRUE(upper_checksum_ok(icmp, 20, kProtoIcmp, false)) << "ICMP checksum";
  EXPECT_EQ(slice(icmp, 12, 16), slice(original, 16, 20));  // from the original destination
  EXPECT_EQ(slice(icmp, 16, 20), slice(original, 12, 16));  // to the original source
  EXPECT_EQ(icmp[20], 3);
  EXPECT_EQ(icmp[21], 4);
  EXPECT_EQ(icmp[24], 0);
  EXPECT_EQ(icmp[25], 0);
  EXPECT_EQ((size_t{icmp[26]} << 8) | icmp[27], mtu);
  const size_t quote = std::min<size_t>(original.size(), 576 - 28);
  EXPECT_EQ(icmp.size(), 28 + quote);
  EXPECT_EQ(slice(icmp, 28, icmp.size()), slice(original, 0, quote));
}

void expect_valid_v6(const std::vector<uint8_t>& icmp, const std::vector<uint8_t>& original,
                     size_t mtu) {
  ASSERT_GE(icmp.size(), 48u);
  EXPECT_EQ(icmp[0], 0x60);
  EXPECT_EQ((size_t{icmp[4]} << 8) | icmp[5], icmp.size() - 40);
  EXPECT_EQ(icmp[6], kProtoIcmpv6);
  EXPECT_TRUE(upper_checksum_ok(icmp, 40, kProtoIcmpv6)) << "ICMPv6 checksum (pseudo-header)";
  EXPECT_EQ(slice(icmp, 8, 24), slice(original, 24, 40));
  EXPECT_EQ(slice(icmp, 24, 40), slice(original, 8, 24));
  EXPECT_EQ(icmp[40], 2);
  EXPECT_EQ(icmp[41], 0);
  const size_t got_mtu =
      (size_t{icmp[44]} << 24) | (size_t{icmp[45]} << 16) | (size_t{icmp[46]} << 8) | icmp[47];
  EXPECT_EQ(got_mtu, mtu);
  const size_t quote = std::min<size_t>(original.size(), 1280 - 48);
  EXPECT_EQ(icmp.size(), 48 + quote);
  EXPECT_LE(icmp.size(), 1280u);
  EXPECT_EQ(slice(icmp, 48, icmp.size()), slice(original, 0, quote));
}

TEST(PacketTooBig, Ipv4FragmentationNeededQuotesUpTo576Bytes) {
  auto p = ipv4("10.7.0.2", "10.7.0.9", kProtoUdp, udp_payload(1480));
  auto icmp = build(p, 1380);
  ASSERT_FALSE(icmp.empty());
  EXPECT_EQ(icmp.size(), 576u);
  expect_valid_v4(icmp, p, 1380);
  // A short packet is quoted whole.
  auto small = ipv4("10.7.0.2", "10.7.0.9", kProtoUdp, udp_payload(180));
  auto icmp_small = build(small, 100);
  EXPECT_EQ(icmp_small.size(), 28 + small.size());
  expect_valid_v4(icmp_small, small, 100);
}

TEST(PacketTooBig, Ipv4OnlyForDfUnicastNonErrorFirstFragments) {
  auto payload = udp_payload(1480);
  EXPECT_TRUE(build(ipv4("10.7.0.2", "10.7.0.9", kProtoUdp, payload), 1400).size());
  EXPECT_TRUE(build(ipv4("10.7.0.2", "10.7.0.9", kProtoUdp, payload), 1500).empty());  // fits
  Ipv4Options no_df;
  no_df.dont_fragment = false;
  EXPECT_TRUE(build(ipv4("10.7.0.2", "10.7.0.9", kProtoUdp, payload, no_df), 1400).empty());
  EXPECT_TRUE(build(ipv4("10.7.0.2", "10.7.0.9", kProtoUdp, payload), 67).empty());
  EXPECT_EQ(build(ipv4("10.7.0.2", "10.7.0.9", kProtoUdp, payload), 68).size(), 576u);
  Ipv4Options later;
  later.fragment_offset = 10;
  EXPECT_TRUE(build(ipv4("10.7.0.2", "10.7.0.9", kProtoUdp, payload, later), 1400).empty());
  for (const char* src : {"0.0.0.0", "127.0.0.1", "224.0.0.5", "255.255.255.255", "240.0.0.1"})
    EXPECT_TRUE(build(ipv4(src, "10.7.0.9", kProtoUdp, payload), 1400).empty()) << src;
  for (const char* dst : {"224.0.0.251", "239.1.2.3", "255.255.255.255"})
    EXPECT_TRUE(build(ipv4("10.7.0.2", dst, kProtoUdp, payload), 1400).empty()) << dst;
  // ICMP errors get no error; ICMP queries (echo) do.
  auto icmp_payload = payload;
  icmp_payload[0] = 3;
  EXPECT_TRUE(build(ipv4("10.7.0.2", "10.7.0.9", kProtoIcmp, icmp_payload), 1400).empty());
  icmp_payload[0] = 8;
  EXPECT_FALSE(build(ipv4("10.7.0.2", "10.7.0.9", kProtoIcmp, icmp_payload), 1400).empty());
  // Too small an output buffer.
  auto p = ipv4("10.7.0.2", "10.7.0.9", kProtoUdp, payload);
  std::vector<uint8_t> out(575);
  EXPECT_EQ(build_packet_too_big(p, 1400, out), 0u);
}

TEST(PacketTooBig, Ipv6PacketTooBigFitsIn1280WithPseudoHeaderChecksum) {
  auto p = ipv6("fd00::2", "fd00::9", kProtoUdp, udp_payload(1460));
  auto icmp = build(p, 1280);
  ASSERT_FALSE(icmp.empty());
  EXPECT_EQ(icmp.size(), 1280u);
  expect_valid_v6(icmp, p, 1280);
  auto big_mtu = build(ipv6("fd00::2", "fd00::9", kProtoUdp, udp_payload(9000)), 8000);
  expect_valid_v6(big_mtu, ipv6("fd00::2", "fd00::9", kProtoUdp, udp_payload(9000)), 8000);
}

TEST(PacketTooBig, Ipv6Rules) {
  auto payload = udp_payload(1460);
  EXPECT_TRUE(build(ipv6("fd00::2", "fd00::9", kProtoUdp, payload), 1279).empty());
  EXPECT_TRUE(build(ipv6("fd00::2", "fd00::9", kProtoUdp, payload), 1500).empty());
  for (const char* src : {"::", "::1", "ff02::1"})
    EXPECT_TRUE(build(ipv6(src, "fd00::9", kProtoUdp, payload), 1280).empty()) << src;
  // Multicast destinations do get a Packet Too Big (RFC 4443 §2.4(e.3)).
  EXPECT_FALSE(build(ipv6("fd00::2", "ff0e::1", kProtoUdp, payload), 1280).empty());
  auto icmp_payload = payload;
  icmp_payload[0] = 1;  // destination unreachable: an error
  EXPECT_TRUE(build(ipv6("fd00::2", "fd00::9", kProtoIcmpv6, icmp_payload), 1280).empty());
  icmp_payload[0] = 128;  // echo request
  EXPECT_FALSE(build(ipv6("fd00::2", "fd00::9", kProtoIcmpv6, icmp_payload), 1280).empty());
  // An error behind a hop-by-hop header is still recognised.
  icmp_payload[0] = 2;
  auto behind = ipv6("fd00::2", "fd00::9", 0, icmp_payload, {58, 0, 1, 4, 0, 0, 0, 0});
  EXPECT_TRUE(build(behind, 1280).empty());
}

TEST(PacketTooBig, RandomPacketsAlwaysGiveValidChecksums) {
  std::mt19937 rng(7);
  for (int i = 0; i < 2000; ++i) {
    const bool v6 = rng() % 2;
    const size_t size = 1 + rng() % 3000;
    auto payload = udp_payload(size);
    for (auto& b : payload)
      b = static_cast<uint8_t>(rng());
    const uint8_t proto = (rng() % 3 == 0) ? (v6 ? kProtoIcmpv6 : kProtoIcmp) : kProtoTcp;
    auto p = v6 ? ipv6("2001:db8::1", "2001:db8::2", proto, payload)
                : ipv4("192.0.2.1", "198.51.100.2", proto, payload);
    const size_t mtu = v6 ? 1280 + rng() % 2000 : 68 + rng() % 3000;
    auto icmp = build(p, mtu);
    if (icmp.empty()) continue;
    if (v6) {
      expect_valid_v6(icmp, p, mtu);
    } else {
      expect_valid_v4(icmp, p, mtu);
    }
  }
}

}  // namespace
}  // namespace tern::wire

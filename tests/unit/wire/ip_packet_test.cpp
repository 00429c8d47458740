#include "wire/ip_packet.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace tern::wire {
namespace {

std::vector<uint8_t> ipv4(uint16_t total, size_t buffer) {
  std::vector<uint8_t> p(buffer, 0);
  p[0] = 0x45;
  p[2] = static_cast<uint8_t>(total >> 8);
  p[3] = static_cast<uint8_t>(total);
  p[12] = 10, p[13] = 0, p[14] = 0, p[15] = 1;
  p[16] = 10, p[17] = 0, p[18] = 0, p[19] = 2;
  return p;
}

TEST(IpPacket, ParsesIpv4AndIgnoresTrailingPadding) {
  auto p = ipv4(28, 32);
  auto info = parse_ip_packet(p);
  ASSERT_TRUE(info);
  EXPECT_EQ(info->source.to_string(), "10.0.0.1");
  EXPECT_EQ(info->destination.to_string(), "10.0.0.2");
  EXPECT_EQ(info->total_length, 28u);
}

TEST(IpPacket, RejectsIpv4LongerThanBuffer) {
  EXPECT_FALSE(parse_ip_packet(ipv4(40, 32)));
}

TEST(IpPacket, RejectsBadHeaderLength) {
  auto p = ipv4(28, 28);
  p[0] = 0x44;  // IHL 16 bytes < 20
  EXPECT_FALSE(parse_ip_packet(p));
}

TEST(IpPacket, ParsesIpv6) {
  std::vector<uint8_t> p(48, 0);
  p[0] = 0x60;
  p[5] = 8;  // payload length
  p[8] = 0xfd, p[23] = 1;
  p[24] = 0xfd, p[39] = 2;
  auto info = parse_ip_packet(p);
  ASSERT_TRUE(info);
  EXPECT_EQ(info->source.to_string(), "fd00::1");
  EXPECT_EQ(info->destination.to_string(), "fd00::2");
  EXPECT_EQ(info->total_length, 48u);
  EXPECT_EQ(ip_destination(p)->to_string(), "fd00::2");
}

TEST(IpPacket, RejectsOtherVersionsAndShortInput) {
  std::vector<uint8_t> p(40, 0);
  p[0] = 0x50;
  EXPECT_FALSE(parse_ip_packet(p));
  EXPECT_FALSE(parse_ip_packet({}));
  EXPECT_FALSE(ip_destination(std::vector<uint8_t>{0x45, 0}));
}

}  // namespace
}  // namespace tern::wire

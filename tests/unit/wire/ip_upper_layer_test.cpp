#include "wire/ip_upper_layer.hpp"

#include <gtest/gtest.h>

#include "tun_packets.hpp"

namespace tern::wire {
namespace {

using namespace testing;

TEST(IpUpperLayer, Ipv4WithOptionsAndFragments) {
  Ipv4Options o;
  o.options = {0x94, 0x04, 0x00, 0x00};  // router alert
  auto p = ipv4("192.0.2.1", "198.51.100.2", kProtoTcp, std::vector<uint8_t>(40), o);
  auto u = find_upper_layer(p);
  ASSERT_TRUE(u);
  EXPECT_FALSE(u->is_v6);
  EXPECT_EQ(u->protocol, kProtoTcp);
  EXPECT_EQ(u->offset, 24u);
  EXPECT_EQ(u->total_length, 64u);
  EXPECT_TRUE(u->first_fragment);
  o.fragment_offset = 3;
  o.more_fragments = true;
  u = find_upper_layer(ipv4("192.0.2.1", "198.51.100.2", kProtoUdp, {1, 2, 3}, o));
  ASSERT_TRUE(u);
  EXPECT_FALSE(u->first_fragment);
  EXPECT_TRUE(u->more_fragments);
  // Padding after the packet is not part of it; a claimed length past the buffer is refused.
  p.push_back(0);
  EXPECT_EQ(find_upper_layer(p)->total_length, 64u);
  p[3] = 200;
  EXPECT_FALSE(find_upper_layer(p));
}

TEST(IpUpperLayer, Ipv6ExtensionChain) {
  // Hop-by-hop (8), destination options (16), fragment (8, first), then TCP.
  std::vector<uint8_t> ext = {60, 0, 1, 4,  0, 0, 0, 0,                          // HBH -> 60
                              44, 1, 1, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,  // DO -> 44
                              6,  0, 0, 1,  0, 0, 0, 9};                         // frag -> TCP
  auto p = ipv6("2001:db8::1", "2001:db8::2", 0, std::vector<uint8_t>(30), ext);
  auto u = find_upper_layer(p);
  ASSERT_TRUE(u);
  EXPECT_TRUE(u->is_v6);
  EXPECT_EQ(u->protocol, kProtoTcp);
  EXPECT_EQ(u->offset, 40u + 32u);
  EXPECT_TRUE(u->first_fragment);
  EXPECT_TRUE(u->more_fragments);
  // A non-first fragment.
  auto later = p;
  later[40 + 24 + 2] = 0x01;
  EXPECT_FALSE(find_upper_layer(later)->first_fragment);
  // An extension header running past the packet.
  auto cut = ipv6("2001:db8::1", "2001:db8::2", 0, {}, {6, 3, 0, 0, 0, 0, 0, 0});
  EXPECT_FALSE(find_upper_layer(cut));
  // A chain of nine destination-options headers is refused.
  std::vector<uint8_t> long_chain;
  for (int i = 0; i < 9; ++i)
    long_chain.insert(long_chain.end(), {60, 0, 1, 4, 0, 0, 0, 0});
  long_chain[8 * 8] = 6;
  EXPECT_FALSE(find_upper_layer(ipv6("2001:db8::1", "2001:db8::2", 60, {}, long_chain)));
  // Payload length 0 with hop-by-hop may be a jumbogram: refused.
  auto jumbo = ipv6("2001:db8::1", "2001:db8::2", 0, {}, {});
  EXPECT_FALSE(find_upper_layer(jumbo));
}

TEST(IpUpperLayer, GarbageIsRefused) {
  EXPECT_FALSE(find_upper_layer({}));
  std::vector<uint8_t> v4(19, 0x45);
  EXPECT_FALSE(find_upper_layer(v4));
  std::vector<uint8_t> bad_ihl(20);
  bad_ihl[0] = 0x44;
  bad_ihl[3] = 20;
  EXPECT_FALSE(find_upper_layer(bad_ihl));
  std::vector<uint8_t> v5(40);
  v5[0] = 0x50;
  EXPECT_FALSE(find_upper_layer(v5));
}

}  // namespace
}  // namespace tern::wire

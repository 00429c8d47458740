#include "base/ip.hpp"

#include <gtest/gtest.h>

namespace tern {
namespace {

TEST(IpAddress, ParsesAndFormatsBothFamilies) {
  auto v4 = IpAddress::parse("192.0.2.7");
  ASSERT_TRUE(v4);
  EXPECT_TRUE(v4->is_v4());
  EXPECT_EQ(v4->to_string(), "192.0.2.7");
  auto v6 = IpAddress::parse("2001:db8::1");
  ASSERT_TRUE(v6);
  EXPECT_TRUE(v6->is_v6());
  EXPECT_EQ(v6->to_string(), "2001:db8::1");
  EXPECT_FALSE(IpAddress::parse("192.0.2.256"));
  EXPECT_FALSE(IpAddress::parse(""));
  EXPECT_FALSE(IpAddress::parse("hello"));
}

TEST(IpAddress, UnmapsV4MappedV6) {
  auto a = IpAddress::parse("::ffff:198.51.100.3");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->unmapped(), *IpAddress::parse("198.51.100.3"));
}

TEST(IpPrefix, MasksAndContains) {
  auto p = IpPrefix::parse("10.1.2.3/20");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->masked().to_string(), "10.1.0.0/20");
  EXPECT_TRUE(p->contains(*IpAddress::parse("10.1.15.255")));
  EXPECT_FALSE(p->contains(*IpAddress::parse("10.1.16.0")));
  EXPECT_FALSE(p->contains(*IpAddress::parse("::1")));
  auto host = IpPrefix::parse("fd00::5");
  ASSERT_TRUE(host);
  EXPECT_EQ(host->length, 128);
  EXPECT_FALSE(IpPrefix::parse("10.0.0.0/33"));
  EXPECT_FALSE(IpPrefix::parse("10.0.0.0/"));
  EXPECT_FALSE(IpPrefix::parse("10.0.0.0/8x"));
}

TEST(Endpoint, ParsesBracketedV6AndRejectsBadPorts) {
  auto e = Endpoint::parse("[2001:db8::2]:51820");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->port, 51820);
  EXPECT_EQ(e->to_string(), "[2001:db8::2]:51820");
  EXPECT_EQ(Endpoint::parse("192.0.2.1:1")->to_string(), "192.0.2.1:1");
  EXPECT_FALSE(Endpoint::parse("192.0.2.1:65536"));
  EXPECT_FALSE(Endpoint::parse("2001:db8::2:51820"));
  EXPECT_FALSE(Endpoint::parse("192.0.2.1"));
}

}  // namespace
}  // namespace tern

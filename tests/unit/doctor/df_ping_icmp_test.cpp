#include "doctor/df_ping_icmp.hpp"

#include <gtest/gtest.h>

#include <vector>

#include "wire/checksum.hpp"

namespace tern::doctor {
namespace {

const ProbeToken kToken{'t', 'e', 'r', 'n', 1, 2, 3, 4};

std::vector<uint8_t> ipv4_header(size_t total, uint8_t proto, std::array<uint8_t, 4> src,
                                 std::array<uint8_t, 4> dst) {
  std::vector<uint8_t> h(20, 0);
  h[0] = 0x45;
  h[2] = static_cast<uint8_t>(total >> 8);
  h[3] = static_cast<uint8_t>(total);
  h[6] = 0x40;  // DF
  h[8] = 64;
  h[9] = proto;
  std::copy(src.begin(), src.end(), h.begin() + 12);
  std::copy(dst.begin(), dst.end(), h.begin() + 16);
  return h;
}

void set_checksum(std::vector<uint8_t>& icmp, size_t offset) {
  icmp[offset + 2] = icmp[offset + 3] = 0;
  const uint16_t sum =
      wire::checksum_finish(wire::checksum_add(Bytes(icmp.data() + offset, icmp.size() - offset)));
  icmp[offset + 2] = static_cast<uint8_t>(sum >> 8);
  icmp[offset + 3] = static_cast<uint8_t>(sum);
}

TEST(DfPingIcmp, EchoRequestHasTheSizeTokenAndAValidChecksum) {
  std::vector<uint8_t> buf(2000);
  const size_t len = build_echo_request(IpAddress::Family::kV4, 0x1234, 7, kToken, 1280, buf);
  ASSERT_EQ(len, 1280u - 20u);
  EXPECT_EQ(buf[0], 8);
  EXPECT_EQ(buf[4], 0x12);
  EXPECT_EQ(buf[5], 0x34);
  EXPECT_EQ(buf[7], 7);
  EXPECT_EQ(buf[8], 't');
  EXPECT_EQ(wire::checksum_fold(wire::checksum_add(Bytes(buf.data(), len))), 0xffff);
  const size_t len6 = build_echo_request(IpAddress::Family::kV6, 1, 2, kToken, 1280, buf);
  EXPECT_EQ(len6, 1240u);
  EXPECT_EQ(buf[0], 128);
  EXPECT_EQ(build_echo_request(IpAddress::Family::kV4, 1, 2, kToken, 35, buf), 0u);
  EXPECT_EQ(build_echo_request(IpAddress::Family::kV4, 1, 2, kToken, 36, buf), 16u);
  std::vector<uint8_t> small(100);
  EXPECT_EQ(build_echo_request(IpAddress::Family::kV4, 1, 2, kToken, 200, small), 0u);
}

TEST(DfPingIcmp, EchoReplyWithIpv4Header) {
  std::vector<uint8_t> icmp(100);
  ASSERT_EQ(build_echo_request(IpAddress::Family::kV4, 0xbeef, 9, kToken, 120, icmp), 100u);
  icmp[0] = 0;  // reply
  set_checksum(icmp, 0);
  auto pkt = ipv4_header(120, 1, {192, 0, 2, 1}, {198, 51, 100, 1});
  pkt.insert(pkt.end(), icmp.begin(), icmp.end());
  auto m = parse_icmp(pkt, IcmpFraming::kWithIpv4Header, IpAddress::Family::kV4);
  auto* r = std::get_if<EchoReply>(&m);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->id, 0xbeef);
  EXPECT_EQ(r->seq, 9);
  ASSERT_GE(r->data.size(), kProbeTokenSize);
  EXPECT_EQ(r->data[0], 't');

  pkt[30] ^= 1;  // corrupt the ICMP payload
  m = parse_icmp(pkt, IcmpFraming::kWithIpv4Header, IpAddress::Family::kV4);
  EXPECT_EQ(std::get<IcmpDrop>(m), IcmpDrop::kBadChecksum);
  pkt[9] = 17;
  m = parse_icmp(pkt, IcmpFraming::kWithIpv4Header, IpAddress::Family::kV4);
  EXPECT_EQ(std::get<IcmpDrop>(m), IcmpDrop::kNotIcmp);
  pkt[3] = 200;  // longer than the buffer
  m = parse_icmp(pkt, IcmpFraming::kWithIpv4Header, IpAddress::Family::kV4);
  EXPECT_EQ(std::get<IcmpDrop>(m), IcmpDrop::kMalformed);
}

TEST(DfPingIcmp, FragmentationNeededQuotesOurProbe) {
  // Router 203.0.113.1 refuses our 1500-byte probe to 198.51.100.7: next-hop MTU 1280.
  std::vector<uint8_t> probe(1480);
  ASSERT_GT(build_echo_request(IpAddress::Family::kV4, 0x4242, 17, kToken, 1500, probe), 0u);
  auto quoted = ipv4_header(1500, 1, {192, 0, 2, 10}, {198, 51, 100, 7});
  quoted.insert(quoted.end(), probe.begin(), probe.begin() + 8);  // RFC 792: 64 bits of data
  std::vector<uint8_t> icmp = {3, 4, 0, 0, 0, 0, 0x05, 0x00};
  icmp.insert(icmp.end(), quoted.begin(), quoted.end());
  set_checksum(icmp, 0);
  auto pkt = ipv4_header(20 + icmp.size(), 1, {203, 0, 113, 1}, {192, 0, 2, 10});
  pkt.insert(pkt.end(), icmp.begin(), icmp.end());
  auto m = parse_icmp(pkt, IcmpFraming::kWithIpv4Header, IpAddress::Family::kV4);
  auto* e = std::get_if<IcmpError>(&m);
  ASSERT_TRUE(e);
  EXPECT_TRUE(e->too_big);
  EXPECT_EQ(e->mtu, 1280u);
  EXPECT_EQ(e->id, 0x4242);
  EXPECT_EQ(e->seq, 17);
  EXPECT_EQ(e->quoted_destination, *IpAddress::parse("198.51.100.7"));

  // The same error about someone else's UDP datagram is not ours.
  icmp[8 + 9] = 17;
  set_checksum(icmp, 0);
  pkt.resize(20);
  pkt.insert(pkt.end(), icmp.begin(), icmp.end());
  m = parse_icmp(pkt, IcmpFraming::kWithIpv4Header, IpAddress::Family::kV4);
  EXPECT_EQ(std::get<IcmpDrop>(m), IcmpDrop::kNotOurs);
}

TEST(DfPingIcmp, PacketTooBigV6) {
  std::vector<uint8_t> probe(1240);
  ASSERT_GT(build_echo_request(IpAddress::Family::kV6, 7, 300, kToken, 1280, probe), 0u);
  std::vector<uint8_t> ip6(40, 0);
  ip6[0] = 0x60;
  ip6[6] = 58;
  ip6[24] = 0x20;
  ip6[25] = 0x01;
  ip6[26] = 0x0d;
  ip6[27] = 0xb8;
  ip6[39] = 2;
  std::vector<uint8_t> icmp = {2, 0, 0, 0, 0, 0, 0x05, 0x00};  // MTU 1280
  icmp.insert(icmp.end(), ip6.begin(), ip6.end());
  icmp.insert(icmp.end(), probe.begin(), probe.begin() + 100);
  auto m = parse_icmp(icmp, IcmpFraming::kIcmpOnly, IpAddress::Family::kV6);
  auto* e = std::get_if<IcmpError>(&m);
  ASSERT_TRUE(e);
  EXPECT_TRUE(e->too_big);
  EXPECT_EQ(e->mtu, 1280u);
  EXPECT_EQ(e->seq, 300);
  EXPECT_EQ(e->quoted_destination, *IpAddress::parse("2001:db8::2"));

  icmp[0] = 1;  // destination unreachable: an error, not too big
  m = parse_icmp(icmp, IcmpFraming::kIcmpOnly, IpAddress::Family::kV6);
  e = std::get_if<IcmpError>(&m);
  ASSERT_TRUE(e);
  EXPECT_FALSE(e->too_big);
  icmp[0] = 134;  // router advertisement
  m = parse_icmp(icmp, IcmpFraming::kIcmpOnly, IpAddress::Family::kV6);
  EXPECT_EQ(std::get<IcmpDrop>(m), IcmpDrop::kIgnoredType);
}

TEST(DfPingIcmp, EveryTruncationIsHandled) {
  std::vector<uint8_t> probe(60);
  ASSERT_GT(build_echo_request(IpAddress::Family::kV6, 7, 3, kToken, 100, probe), 0u);
  std::vector<uint8_t> icmp = {2, 0, 0, 0, 0, 0, 0x05, 0x00};
  std::vector<uint8_t> ip6(40, 0);
  ip6[0] = 0x60;
  ip6[6] = 58;
  icmp.insert(icmp.end(), ip6.begin(), ip6.end());
  icmp.insert(icmp.end(), probe.begin(), probe.end());
  for (size_t n = 0; n <= icmp.size(); ++n) {
    auto m = parse_icmp(Bytes(icmp.data(), n), IcmpFraming::kIcmpOnly, IpAddress::Family::kV6);
    if (n < 8 + 40 + 8) {
      EXPECT_TRUE(std::holds_alternative<IcmpDrop>(m)) << n;
    } else {
      EXPECT_TRUE(std::holds_alternative<IcmpError>(m)) << n;
    }
  }
}

}  // namespace
}  // namespace tern::doctor

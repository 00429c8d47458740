#include "core/tun_boundary.hpp"

#include <gtest/gtest.h>

#include <random>

#include "wire/icmp_too_big.hpp"
#include "wire/ip_upper_layer.hpp"
#include "wire/tun_packets.hpp"

namespace tern::core {
namespace {

using namespace wire::testing;
using Action = BoundaryVerdict::Action;

constexpr uint8_t kSyn = 0x02;
constexpr uint8_t kAck = 0x10;
const Instant kT0 = instant_from_ns(1'000'000'000);

std::vector<uint8_t> syn_v4(uint16_t mss, uint8_t flags = kSyn, size_t data = 0) {
  auto p =
      ipv4("10.7.0.2", "10.7.0.9", wire::kProtoTcp,
           tcp(flags, {2, 4, static_cast<uint8_t>(mss >> 8), static_cast<uint8_t>(mss)}, data));
  fix_upper_checksum(p, 20, 16, wire::kProtoTcp);
  return p;
}

std::vector<uint8_t> syn_v6(uint16_t mss, uint8_t flags = kSyn) {
  // A NOP first puts the MSS value at an odd offset.
  auto p = ipv6(
      "fd00::2", "fd00::9", wire::kProtoTcp,
      tcp(flags, {1, 2, 4, static_cast<uint8_t>(mss >> 8), static_cast<uint8_t>(mss), 1, 1, 0}));
  fix_upper_checksum(p, 40, 16, wire::kProtoTcp);
  return p;
}

std::vector<uint8_t> udp_v4(size_t payload, bool dont_fragment) {
  std::vector<uint8_t> u(8 + payload);
  for (size_t i = 0; i < u.size(); ++i)
    u[i] = static_cast<uint8_t>(i * 13 + 1);
  u[4] = static_cast<uint8_t>(u.size() >> 8);
  u[5] = static_cast<uint8_t>(u.size());
  Ipv4Options o;
  o.dont_fragment = dont_fragment;
  auto p = ipv4("10.7.0.2", "10.7.0.9", wire::kProtoUdp, u, o);
  fix_upper_checksum(p, 20, 6, wire::kProtoUdp);
  return p;
}

std::vector<uint8_t> udp_v6(size_t payload) {
  std::vector<uint8_t> u(8 + payload, 0x5a);
  u[4] = static_cast<uint8_t>(u.size() >> 8);
  u[5] = static_cast<uint8_t>(u.size());
  auto p = ipv6("fd00::2", "fd00::9", wire::kProtoUdp, u);
  fix_upper_checksum(p, 40, 6, wire::kProtoUdp);
  return p;
}

uint16_t be16(const std::vector<uint8_t>& p, size_t at) {
  return static_cast<uint16_t>((p[at] << 8) | p[at + 1]);
}

struct Fixture : ::testing::Test {
  TunBoundary boundary;
  std::vector<uint8_t> reply = std::vector<uint8_t>(wire::kPacketTooBigMaxSize);

  BoundaryVerdict out(std::vector<uint8_t>& p, size_t mtu, Instant now = kT0) {
    return boundary.outbound(p, mtu, now, reply);
  }
  std::vector<uint8_t> reply_bytes(const BoundaryVerdict& v) const {
    return slice(reply, 0, v.reply_length);
  }
};

using TunBoundaryTest = Fixture;

TEST_F(TunBoundaryTest, FittingPacketIsForwardedUntouched) {
  auto p = udp_v4(1000, true);
  const auto before = p;
  const auto v = out(p, 1420);
  EXPECT_EQ(v.action, Action::kForward);
  EXPECT_FALSE(v.mss_clamped);
  EXPECT_EQ(p, before);
  EXPECT_EQ(boundary.counters().ptb_sent + boundary.counters().mss_clamped, 0u);
}

TEST_F(TunBoundaryTest, OutboundSynIsClampedToMtuMinus40) {
  auto p = syn_v4(1460);
  const auto v = out(p, 1280);
  EXPECT_EQ(v.action, Action::kForward);
  EXPECT_TRUE(v.mss_clamped);
  EXPECT_EQ(be16(p, 42), 1240);
  EXPECT_TRUE(upper_checksum_ok(p, 20, wire::kProtoTcp));
  EXPECT_EQ(boundary.counters().mss_clamped, 1u);
}

TEST_F(TunBoundaryTest, SynAckOverIpv6IsClampedToMtuMinus60BothWays) {
  auto p = syn_v6(1440, kSyn | kAck);
  EXPECT_TRUE(boundary.inbound(p, 1280));
  EXPECT_EQ(be16(p, 63), 1220);
  EXPECT_TRUE(upper_checksum_ok(p, 40, wire::kProtoTcp));
  // Already small enough: untouched, not counted.
  EXPECT_FALSE(boundary.inbound(p, 1280));
  auto q = syn_v6(1440);
  EXPECT_TRUE(out(q, 1300).mss_clamped);
  EXPECT_EQ(be16(q, 63), 1240);
  EXPECT_TRUE(upper_checksum_ok(q, 40, wire::kProtoTcp));
  EXPECT_EQ(boundary.counters().mss_clamped, 2u);
}

TEST_F(TunBoundaryTest, PlainAckIsNotClamped) {
  auto p = syn_v4(1460, kAck);
  const auto before = p;
  EXPECT_FALSE(boundary.inbound(p, 1280));
  EXPECT_EQ(p, before);
}

TEST_F(TunBoundaryTest, Ipv6TooBigGetsAPacketTooBigWithValidChecksum) {
  auto p = udp_v6(1400);
  const auto v = out(p, 1280);
  ASSERT_EQ(v.action, Action::kReply);
  const auto icmp = reply_bytes(v);
  ASSERT_EQ(icmp.size(), 1280u);  // quotes as much as fits 1280 bytes
  EXPECT_EQ(icmp[6], wire::kProtoIcmpv6);
  EXPECT_EQ(icmp[40], 2);
  EXPECT_EQ(icmp[41], 0);
  EXPECT_EQ(be16(icmp, 44) << 16 | be16(icmp, 46), 1280);
  EXPECT_TRUE(upper_checksum_ok(icmp, 40, wire::kProtoIcmpv6));
  // From the original destination to the original source, quoting the packet's start.
  EXPECT_EQ(slice(icmp, 8, 24), slice(p, 24, 40));
  EXPECT_EQ(slice(icmp, 24, 40), slice(p, 8, 24));
  EXPECT_EQ(slice(icmp, 48, 1280), slice(p, 0, 1232));
  EXPECT_EQ(boundary.counters().ptb_sent, 1u);
}

TEST_F(TunBoundaryTest, Ipv4WithDfTooBigGetsFragmentationNeeded) {
  auto p = udp_v4(1400, true);
  const auto v = out(p, 1340);
  ASSERT_EQ(v.action, Action::kReply);
  const auto icmp = reply_bytes(v);
  ASSERT_EQ(icmp.size(), 576u);
  EXPECT_EQ(slow_checksum(slice(icmp, 0, 20)), 0);
  EXPECT_EQ(icmp[20], 3);
  EXPECT_EQ(icmp[21], 4);
  EXPECT_EQ(be16(icmp, 26), 1340);
  EXPECT_EQ(slow_checksum(slice(icmp, 20, icmp.size())), 0);
  EXPECT_EQ(slice(icmp, 28, 576), slice(p, 0, 548));
}

TEST_F(TunBoundaryTest, TooBigSynIsClampedAndQuotedClamped) {
  auto p = syn_v4(1460, kSyn, 1400);
  const auto v = out(p, 1280);
  EXPECT_TRUE(v.mss_clamped);
  ASSERT_EQ(v.action, Action::kReply);
  EXPECT_EQ(be16(reply, 28 + 42), 1240);
}

TEST_F(TunBoundaryTest, Ipv4WithoutDfIsFragmentedIn8ByteUnits) {
  auto p = udp_v4(3000, false);
  const size_t mtu = 1221;  // not a multiple of 8 past the header
  const auto v = out(p, mtu);
  ASSERT_EQ(v.action, Action::kFragment);
  ASSERT_EQ(v.fragment_count, 3u);
  std::vector<uint8_t> data;
  for (size_t i = 0; i < v.fragment_count; ++i) {
    const Bytes b = boundary.fragment(i);
    const std::vector<uint8_t> f(b.begin(), b.end());
    ASSERT_LE(f.size(), mtu);
    EXPECT_EQ(slow_checksum(slice(f, 0, 20)), 0);
    EXPECT_EQ(be16(f, 2), f.size());
    EXPECT_EQ(be16(f, 4), be16(p, 4));  // same identification
    const uint16_t frag = be16(f, 6);
    EXPECT_EQ(size_t{frag & 0x1fffu} * 8, data.size());
    EXPECT_EQ((frag & 0x2000) != 0, i + 1 < v.fragment_count);
    if (i + 1 < v.fragment_count) {
      EXPECT_EQ((f.size() - 20) % 8, 0u);
    }
    data.insert(data.end(), f.begin() + 20, f.end());
    std::vector<uint8_t> copy(f.size());
    EXPECT_EQ(boundary.write_fragment(i, copy), f.size());
    EXPECT_EQ(copy, f);
  }
  EXPECT_EQ(data, slice(p, 20, p.size()));
  std::vector<uint8_t> small(10);
  EXPECT_EQ(boundary.write_fragment(0, small), 0u);
  EXPECT_EQ(boundary.counters().packets_fragmented, 1u);
  EXPECT_EQ(boundary.counters().fragments_made, 3u);
}

TEST_F(TunBoundaryTest, LargestPacketFragmentsAtTheSmallestMtu) {
  auto p = udp_v4(65535 - 28, false);
  const auto v = out(p, TunBoundary::kMinFragmentMtu);
  ASSERT_EQ(v.action, Action::kFragment);
  size_t total = 0;
  for (size_t i = 0; i < v.fragment_count; ++i)
    total += boundary.fragment(i).size() - 20;
  EXPECT_EQ(total, 65535u - 20);
}

TEST_F(TunBoundaryTest, IcmpErrorTooBigIsDroppedNotAnswered) {
  std::vector<uint8_t> err(1400, 0);
  err[0] = 3;  // destination unreachable
  err[1] = 1;
  auto p = ipv4("10.7.0.2", "10.7.0.9", wire::kProtoIcmp, err);
  const auto v = out(p, 1280);
  EXPECT_EQ(v.action, Action::kDrop);
  EXPECT_EQ(v.drop, BoundaryDrop::kTooBig);
  EXPECT_EQ(boundary.counters().too_big_dropped, 1u);
  EXPECT_EQ(boundary.counters().ptb_sent, 0u);
}

// Checks IPv6 fragments against the packet they came from: each fits, carries a Fragment
// header with the right offset, flag and identification, and together they hold its data.
void expect_v6_fragments(const TunBoundary& b, size_t count, const std::vector<uint8_t>& original,
                         size_t mtu, size_t base_offset = 0, bool last_more = false) {
  std::vector<uint8_t> data;
  uint32_t id = 0;
  for (size_t i = 0; i < count; ++i) {
    const Bytes bytes = b.fragment(i);
    const std::vector<uint8_t> f(bytes.begin(), bytes.end());
    ASSERT_LE(f.size(), mtu);
    EXPECT_EQ(be16(f, 4), f.size() - 40);
    EXPECT_EQ(f[6], 44);
    EXPECT_EQ(slice(f, 8, 40), slice(original, 8, 40));
    EXPECT_EQ(f[40], wire::kProtoUdp);
    const uint16_t field = be16(f, 42);
    EXPECT_EQ(size_t{field & 0xfff8u}, base_offset + data.size());
    EXPECT_EQ((field & 1) != 0, i + 1 < count || last_more);
    if (i + 1 < count) {
      EXPECT_EQ((f.size() - 48) % 8, 0u);
    }
    const uint32_t fid = uint32_t{be16(f, 44)} << 16 | be16(f, 46);
    if (i == 0) id = fid;
    EXPECT_EQ(fid, id);
    data.insert(data.end(), f.begin() + 48, f.end());
  }
  const size_t skip = original[6] == 44 ? 48 : 40;
  EXPECT_EQ(data, slice(original, skip, original.size()));
}

TEST_F(TunBoundaryTest, Ipv6UpTo1280IsFragmentedBelowTheMinimumMtu) {
  auto p = udp_v6(1200);  // 1248 bytes: the sender may send it, the tunnel carries 1200
  const auto v = out(p, 1200);
  ASSERT_EQ(v.action, Action::kFragment);
  ASSERT_EQ(v.fragment_count, 2u);
  expect_v6_fragments(boundary, v.fragment_count, p, 1200);
  // Each packet gets its own identification.
  const auto id_of = [&](size_t i) {
    const std::vector<uint8_t> f(boundary.fragment(i).begin(), boundary.fragment(i).end());
    return uint32_t{be16(f, 44)} << 16 | be16(f, 46);
  };
  const uint32_t first_id = id_of(0);
  auto q = udp_v6(1200);
  ASSERT_EQ(out(q, 1200).action, Action::kFragment);
  EXPECT_NE(id_of(0), first_id);
  EXPECT_EQ(boundary.counters().packets_fragmented, 2u);
  EXPECT_EQ(boundary.counters().ptb_sent, 0u);
}

TEST_F(TunBoundaryTest, Ipv6FragmentIsCutFurtherUnderItsOwnIdentification) {
  // A middle fragment (offset 1232, more to come) of 1240 bytes, as a kernel with PMTU 1280
  // makes them.
  std::vector<uint8_t> ext = {wire::kProtoUdp, 0, 0x04, 0xd1, 0xca, 0xfe, 0xba, 0xbe};
  std::vector<uint8_t> data(1192);
  for (size_t i = 0; i < data.size(); ++i)
    data[i] = static_cast<uint8_t>(i * 5);
  auto p = ipv6("fd00::2", "fd00::9", 44, data, ext);
  const auto v = out(p, 1200);
  ASSERT_EQ(v.action, Action::kFragment);
  ASSERT_EQ(v.fragment_count, 2u);
  expect_v6_fragments(boundary, v.fragment_count, p, 1200, 1232, true);
  const std::vector<uint8_t> f(boundary.fragment(1).begin(), boundary.fragment(1).end());
  EXPECT_EQ(be16(f, 44), 0xcafe);
  EXPECT_EQ(be16(f, 46), 0xbabe);
}

TEST_F(TunBoundaryTest, Ipv6Over1280BelowTheMinimumMtuIsToldTo1280) {
  auto p = udp_v6(1300);
  const auto v = out(p, 1200);
  ASSERT_EQ(v.action, Action::kReply);
  EXPECT_EQ(be16(reply, 44) << 16 | be16(reply, 46), 1280);
  EXPECT_TRUE(upper_checksum_ok(reply_bytes(v), 40, wire::kProtoIcmpv6));
}

TEST_F(TunBoundaryTest, UnparsableOversizedIsDroppedButUnparsableSmallPasses) {
  std::vector<uint8_t> junk(1500, 0xee);
  EXPECT_EQ(out(junk, 1280).drop, BoundaryDrop::kTooBig);
  std::vector<uint8_t> small(100, 0xee);
  EXPECT_EQ(out(small, 1280).action, Action::kForward);
}

TEST_F(TunBoundaryTest, PtbsAreRateLimitedWithABurst) {
  auto p = udp_v6(1400);
  for (unsigned i = 0; i < PtbLimiter::kBurst; ++i)
    ASSERT_EQ(out(p, 1280).action, Action::kReply) << i;
  auto v = out(p, 1280);
  EXPECT_EQ(v.action, Action::kDrop);
  EXPECT_EQ(v.drop, BoundaryDrop::kPtbRateLimited);
  EXPECT_EQ(boundary.counters().ptb_rate_limited, 1u);
  // One token per 10 ms.
  EXPECT_EQ(out(p, 1280, kT0 + std::chrono::milliseconds(9)).action, Action::kDrop);
  EXPECT_EQ(out(p, 1280, kT0 + std::chrono::milliseconds(10)).action, Action::kReply);
  EXPECT_EQ(out(p, 1280, kT0 + std::chrono::milliseconds(11)).action, Action::kDrop);
  // A long pause refills the burst, not more.
  const Instant later = kT0 + std::chrono::seconds(60);
  unsigned replies = 0;
  for (unsigned i = 0; i < 3 * PtbLimiter::kBurst; ++i)
    replies += out(p, 1280, later).action == Action::kReply;
  EXPECT_EQ(replies, PtbLimiter::kBurst);
  EXPECT_EQ(boundary.counters().ptb_sent, 2u * PtbLimiter::kBurst + 1);
}

TEST(PtbLimiter, ClockGoingBackwardsGivesNoCredit) {
  PtbLimiter l;
  for (unsigned i = 0; i < PtbLimiter::kBurst; ++i)
    ASSERT_TRUE(l.allow(kT0));
  EXPECT_FALSE(l.allow(kT0 - std::chrono::seconds(5)));
  EXPECT_FALSE(l.allow(kT0));
  EXPECT_TRUE(l.allow(kT0 + std::chrono::milliseconds(10)));
}

// Random SYNs against a slow reference: the MSS becomes min(mss, mtu - 40/60), the checksum
// stays valid, and nothing else changes.
TEST(TunBoundaryRandom, MssClampMatchesReference) {
  std::mt19937 rng(4);
  TunBoundary b;
  for (int round = 0; round < 2000; ++round) {
    const bool v6 = rng() % 2;
    const uint16_t mss = static_cast<uint16_t>(rng() % 9000);
    const size_t mtu = 100 + rng() % 9000;
    const uint8_t flags = static_cast<uint8_t>(rng() % 2 ? kSyn : kSyn | kAck);
    auto p = v6 ? syn_v6(mss, flags) : syn_v4(mss, flags);
    const auto before = p;
    const size_t at = v6 ? 63 : 42;
    const uint16_t expected = std::min<uint16_t>(mss, static_cast<uint16_t>(mtu - (v6 ? 60 : 40)));
    const bool clamped = rng() % 2 ? b.inbound(p, mtu) : b.outbound(p, mtu, kT0, {}).mss_clamped;
    EXPECT_EQ(clamped, expected < mss);
    EXPECT_EQ(be16(p, at), expected);
    EXPECT_TRUE(upper_checksum_ok(p, v6 ? 40 : 20, wire::kProtoTcp));
    p[at] = before[at];
    p[at + 1] = before[at + 1];
    p[(v6 ? 40 : 20) + 16] = before[(v6 ? 40 : 20) + 16];
    p[(v6 ? 40 : 20) + 17] = before[(v6 ? 40 : 20) + 17];
    EXPECT_EQ(p, before);
  }
}

// Random sizes and MTUs: every verdict is the one the rules give, and whatever is produced
// fits the MTU.
TEST(TunBoundaryRandom, VerdictsFollowTheRules) {
  std::mt19937 rng(7);
  TunBoundary b;
  std::vector<uint8_t> reply(wire::kPacketTooBigMaxSize);
  for (int round = 0; round < 500; ++round) {
    const int kind = static_cast<int>(rng() % 3);
    const size_t payload = rng() % 9000;
    const size_t mtu = 576 + rng() % 8000;
    auto p = kind == 0   ? udp_v4(payload, false)
             : kind == 1 ? udp_v4(payload, true)
                         : udp_v6(payload);
    // A second apart each: the limiter never interferes.
    const auto v = b.outbound(p, mtu, kT0 + std::chrono::seconds(round), reply);
    if (p.size() <= mtu) {
      EXPECT_EQ(v.action, Action::kForward);
    } else if (kind == 0) {
      ASSERT_EQ(v.action, Action::kFragment);
      size_t data = 0;
      for (size_t i = 0; i < v.fragment_count; ++i) {
        EXPECT_LE(b.fragment(i).size(), mtu);
        data += b.fragment(i).size() - 20;
      }
      EXPECT_EQ(data, p.size() - 20);
    } else if (kind == 2 && mtu < 1280 && p.size() <= 1280) {
      ASSERT_EQ(v.action, Action::kFragment);
      expect_v6_fragments(b, v.fragment_count, p, mtu);
    } else {
      ASSERT_EQ(v.action, Action::kReply);
      const auto icmp = slice(reply, 0, v.reply_length);
      const size_t mtu_field = kind == 1 ? be16(icmp, 26) : be16(icmp, 46);
      EXPECT_EQ(mtu_field, std::min<size_t>(kind == 2 ? std::max<size_t>(mtu, 1280) : mtu, 0xffff));
      if (kind == 1) {
        EXPECT_EQ(slow_checksum(slice(icmp, 20, icmp.size())), 0);
      } else {
        EXPECT_TRUE(upper_checksum_ok(icmp, 40, wire::kProtoIcmpv6));
      }
    }
  }
}

}  // namespace
}  // namespace tern::core

#include "wire/gro.hpp"

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <vector>

#include "wire/gso_split.hpp"
#include "wire/packet_builder.hpp"

namespace tern::wire {
namespace {

using test::build_packet;
using test::L4Spec;
using Packet = std::vector<uint8_t>;

// A sender's stream: consecutive sequence numbers and IPv4 IDs, as a TCP sender makes them.
struct Stream {
  L4Spec spec;
  Packet next(size_t payload, uint8_t flags = 0x10) {
    L4Spec s = spec;
    s.flags = flags;
    s.payload = test::payload_pattern(payload, spec.seq);
    spec.seq += static_cast<uint32_t>(payload);
    spec.ip_id = static_cast<uint16_t>(spec.ip_id + 1);
    return build_packet(s);
  }
};

Stream stream(bool v6, uint16_t sport = 40000);

// The same flow carrying UDP instead.
void udp_stream(Stream& s) {
  s.spec.tcp = false;
  s.spec.options.clear();
}

Stream stream(bool v6, uint16_t sport) {
  Stream st;
  st.spec.v6 = v6;
  if (v6) {
    const uint8_t a[16] = {0xfd, 0x77, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    const uint8_t b[16] = {0xfd, 0x77, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2};
    std::copy(a, a + 16, st.spec.src);
    std::copy(b, b + 16, st.spec.dst);
  }
  st.spec.sport = sport;
  st.spec.options = {1, 1, 8, 10, 0, 0, 1, 0, 0, 0, 2, 0};
  return st;
}

struct Written {
  VirtioNetHeader header;
  Packet frame;  // the parts, concatenated
  size_t packets;
};

// Runs one batch through the coalescer (on copies of `in`, which it rewrites).
std::vector<Written> coalesce(std::vector<Packet> in, Gro& gro) {
  gro.clear();
  for (auto& p : in)
    EXPECT_TRUE(gro.add(p));
  gro.finish();
  std::vector<Written> out;
  for (size_t i = 0; i < gro.frame_count(); ++i) {
    auto f = gro.frame(i);
    Written w{f.header, {}, f.packets};
    for (Bytes part : f.parts)
      w.frame.insert(w.frame.end(), part.begin(), part.end());
    out.push_back(w);
  }
  return out;
}

std::vector<Written> coalesce(const std::vector<Packet>& in, bool udp = false) {
  Gro gro(in.size() + 1);
  gro.set_udp(udp);
  return coalesce(in, gro);
}

// What the kernel makes of a written frame: the packets again.
std::vector<Packet> resegment(const Written& w) {
  if (w.header.gso_type == kVirtioNetGsoNone) return {w.frame};
  EXPECT_EQ(w.header.flags, kVirtioNetNeedsCsum);
  auto f = parse_gso_frame(w.header, w.frame);
  EXPECT_TRUE(f);
  if (!f) return {};
  EXPECT_EQ(w.header.hdr_len, f->header_length);
  std::vector<Packet> out;
  for (size_t i = 0; i < f->segment_count; ++i) {
    Packet p(f->max_packet_size);
    p.resize(write_gso_segment(*f, w.frame, i, p));
    out.push_back(p);
  }
  return out;
}

std::vector<Packet> resegment_all(const std::vector<Written>& ws) {
  std::vector<Packet> out;
  for (const auto& w : ws) {
    auto ps = resegment(w);
    out.insert(out.end(), ps.begin(), ps.end());
  }
  return out;
}

// A coalesced frame as the kernel expects it: lengths, IPv4 header checksum, and the transport
// checksum field holding the pseudo-header sum of the whole.
void expect_well_formed(const Written& w) {
  if (w.header.gso_type == kVirtioNetGsoNone) return;
  const Packet& p = w.frame;
  const bool v6 = (p[0] >> 4) == 6;
  const bool udp = w.header.gso_type == kVirtioNetGsoUdpL4;
  if (!udp) {
    EXPECT_EQ(w.header.gso_type, v6 ? kVirtioNetGsoTcpV6 : kVirtioNetGsoTcpV4);
  }
  EXPECT_EQ(w.header.csum_start, v6 ? 40 : 20);
  EXPECT_EQ(w.header.csum_offset, udp ? 6 : 16);
  if (v6) {
    EXPECT_EQ(size_t{p[4]} << 8 | p[5], p.size() - 40);
  } else {
    EXPECT_EQ(size_t{p[2]} << 8 | p[3], p.size());
    EXPECT_EQ(test::ref_fold(test::ref_sum(p.data(), 20)), 0xffff);
  }
  if (udp) {
    EXPECT_EQ(size_t{p[w.header.csum_start + 4u]} << 8 | p[w.header.csum_start + 5u],
              p.size() - w.header.csum_start);
  }
  const size_t field = size_t{w.header.csum_start} + w.header.csum_offset;
  EXPECT_EQ(uint16_t(p[field] << 8 | p[field + 1]), test::partial_pseudo(p));
}

TEST(TcpGro, OneFlowInOrderBecomesOneFrame) {
  for (bool v6 : {false, true}) {
    Stream s = stream(v6);
    std::vector<Packet> in;
    for (int i = 0; i < 10; ++i)
      in.push_back(s.next(1368));
    auto out = coalesce(in);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].packets, 10u);
    EXPECT_EQ(out[0].header.gso_type, v6 ? kVirtioNetGsoTcpV6 : kVirtioNetGsoTcpV4);
    EXPECT_EQ(out[0].header.gso_size, 1368);
    EXPECT_EQ(out[0].header.hdr_len, (v6 ? 40 : 20) + 32);
    EXPECT_EQ(out[0].frame.size(), (v6 ? 40u : 20u) + 32u + 10u * 1368u);
    expect_well_formed(out[0]);
    EXPECT_EQ(resegment_all(out), in);
  }
}

TEST(TcpGro, PshAndAShortPacketEndATrain) {
  Stream s = stream(false);
  std::vector<Packet> in;
  for (int i = 0; i < 4; ++i)
    in.push_back(s.next(1000));
  in.push_back(s.next(1000, 0x18));  // PSH: last of its train
  for (int i = 0; i < 3; ++i)
    in.push_back(s.next(1000));
  in.push_back(s.next(300));  // short: last of its train
  in.push_back(s.next(1000));
  auto out = coalesce(in);
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0].packets, 5u);
  EXPECT_EQ(out[0].frame[20 + 13], 0x18) << "the train carries the PSH of its last packet";
  EXPECT_EQ(out[1].packets, 4u);
  EXPECT_EQ(out[2].packets, 1u);
  EXPECT_EQ(out[2].header.gso_type, kVirtioNetGsoNone);
  for (const auto& w : out)
    expect_well_formed(w);
  EXPECT_EQ(resegment_all(out), in);
}

TEST(TcpGro, InterleavedFlowsEachGetATrain) {
  Stream a = stream(false, 1000), b = stream(false, 2000), c = stream(true, 1000);
  std::vector<Packet> in;
  for (int i = 0; i < 6; ++i) {
    in.push_back(a.next(500));
    in.push_back(b.next(700));
    in.push_back(c.next(900));
  }
  auto out = coalesce(in);
  ASSERT_EQ(out.size(), 3u);
  for (const auto& w : out) {
    EXPECT_EQ(w.packets, 6u);
    expect_well_formed(w);
  }
  EXPECT_EQ(out[1].header.gso_size, 700);
}

TEST(TcpGro, DifferencesThatPreventCoalescing) {
  auto trains_of = [](auto mutate) {
    Stream s = stream(false);
    Packet first = s.next(1000);
    L4Spec spec = s.spec;
    spec.payload = test::payload_pattern(1000, 9);
    spec.flags = 0x10;
    mutate(spec);
    std::vector<Packet> in = {first, build_packet(spec)};
    return coalesce(in).size();
  };
  EXPECT_EQ(trains_of([](L4Spec&) {}), 1u);
  EXPECT_EQ(trains_of([](L4Spec& s) { s.seq += 1; }), 2u);  // a gap
  EXPECT_EQ(trains_of([](L4Spec& s) { s.ack += 1; }), 2u);
  EXPECT_EQ(trains_of([](L4Spec& s) { s.ttl = 63; }), 2u);
  EXPECT_EQ(trains_of([](L4Spec& s) { s.tos = 1; }), 2u);  // ECN CE on one of them
  EXPECT_EQ(trains_of([](L4Spec& s) { s.df = false; }), 2u);
  EXPECT_EQ(trains_of([](L4Spec& s) { s.options[11] = 9; }), 2u);  // another timestamp
  EXPECT_EQ(trains_of([](L4Spec& s) { s.options.resize(8); }), 2u);
  EXPECT_EQ(trains_of([](L4Spec& s) { s.payload.resize(1001); }), 2u);  // longer than the first
  EXPECT_EQ(trains_of([](L4Spec& s) { s.flags = 0x11; }), 2u);          // FIN
  EXPECT_EQ(trains_of([](L4Spec& s) { s.flags = 0x30; }), 2u);          // URG
  EXPECT_EQ(trains_of([](L4Spec& s) { s.payload.clear(); }), 2u);       // a pure ACK
  EXPECT_EQ(trains_of([](L4Spec& s) { s.tcp = false; }), 2u);           // UDP
  EXPECT_EQ(trains_of([](L4Spec& s) { s.dport = 1; }), 2u);
  EXPECT_EQ(trains_of([](L4Spec& s) { s.dst[3] = 9; }), 2u);
}

TEST(TcpGro, PacketsWithBadChecksumsStayAlone) {
  Stream s = stream(false);
  std::vector<Packet> in;
  for (int i = 0; i < 3; ++i)
    in.push_back(s.next(800));
  in[1][100] ^= 0x01;  // payload corrupted after the checksum was computed
  auto out = coalesce(in);
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[1].frame, in[1]) << "written as it came; the kernel drops it";
  Stream t = stream(false);
  in = {t.next(800), t.next(800)};
  in[1][10] ^= 0x01;  // IPv4 header checksum
  EXPECT_EQ(coalesce(in).size(), 2u);
}

TEST(TcpGro, MalformedAndOtherPacketsPassAlone) {
  Stream s = stream(false);
  Packet good = s.next(500);
  Packet with_options = good;
  with_options[0] = 0x46;
  Packet fragment = good;
  fragment[6] = 0x20;
  Packet short_length = good;
  short_length[3] -= 1;
  std::vector<Packet> in = {Packet{}, Packet{0x45}, Packet(39, 0x45), with_options,
                            fragment, short_length, Packet(60, 0x60), good};
  auto out = coalesce(in);
  ASSERT_EQ(out.size(), in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    EXPECT_EQ(out[i].header.gso_type, kVirtioNetGsoNone);
    EXPECT_EQ(out[i].frame, in[i]);
  }
}

TEST(TcpGro, TrainsStayWithinAnIpLengthAndTheTrainLimit) {
  Stream s = stream(false);
  std::vector<Packet> in;
  for (int i = 0; i < 100; ++i)
    in.push_back(s.next(1400));
  auto out = coalesce(in);
  size_t total = 0;
  for (const auto& w : out) {
    EXPECT_LE(w.frame.size(), 65535u);
    total += w.packets;
    expect_well_formed(w);
  }
  EXPECT_EQ(total, 100u);
  EXPECT_EQ(out.size(), 3u);  // 46 + 46 + 8 packets of 1400 bytes
  EXPECT_EQ(resegment_all(out), in);

  Stream t = stream(true);
  in.clear();
  for (int i = 0; i < 100; ++i)
    in.push_back(t.next(10));
  out = coalesce(in);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].packets, Gro::kMaxTrain);
  EXPECT_EQ(resegment_all(out), in);
}

TEST(TcpGro, FullBatchRefusesAndClearStartsOver) {
  Gro gro(3);
  Stream s = stream(false);
  std::vector<Packet> in = {s.next(100), s.next(100), s.next(100), s.next(100)};
  EXPECT_TRUE(gro.add(in[0]));
  EXPECT_TRUE(gro.add(in[1]));
  EXPECT_TRUE(gro.add(in[2]));
  EXPECT_TRUE(gro.full());
  EXPECT_FALSE(gro.add(in[3]));
  for (int round = 0; round < 3; ++round) {  // clear() forgets flows of the earlier batch
    Stream t = stream(false);
    auto out = coalesce({t.next(100), t.next(100)}, gro);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].packets, 2u);
  }
}

TEST(UdpGro, OffUnlessTheTunTakesUso) {
  Stream s = stream(false);
  udp_stream(s);
  std::vector<Packet> in;
  for (int i = 0; i < 5; ++i)
    in.push_back(s.next(1200));
  EXPECT_EQ(coalesce(in).size(), 5u);
  EXPECT_EQ(coalesce(in, true).size(), 1u);
}

TEST(UdpGro, OneFlowBecomesOneFrameAndAShortDatagramEndsIt) {
  for (bool v6 : {false, true}) {
    Stream s = stream(v6);
    udp_stream(s);
    std::vector<Packet> in;
    for (int i = 0; i < 10; ++i)
      in.push_back(s.next(1300));
    in.push_back(s.next(500));   // short: last of its train
    in.push_back(s.next(1300));  // a new train
    auto out = coalesce(in, true);
    ASSERT_EQ(out.size(), 2u);
    EXPECT_EQ(out[0].packets, 11u);
    EXPECT_EQ(out[0].header.gso_type, kVirtioNetGsoUdpL4);
    EXPECT_EQ(out[0].header.gso_size, 1300);
    EXPECT_EQ(out[0].header.hdr_len, (v6 ? 40 : 20) + 8);
    EXPECT_EQ(out[1].header.gso_type, kVirtioNetGsoNone);
    for (const auto& w : out)
      expect_well_formed(w);
    EXPECT_EQ(resegment_all(out), in);
  }
}

TEST(UdpGro, WhatKeepsDatagramsApart) {
  auto trains_of = [](auto mutate) {
    Stream s = stream(false);
    udp_stream(s);
    Packet first = s.next(1000);
    L4Spec spec = s.spec;
    spec.payload = test::payload_pattern(1000, 9);
    mutate(spec);
    Packet second = build_packet(spec);
    return coalesce({first, second}, true).size();
  };
  EXPECT_EQ(trains_of([](L4Spec&) {}), 1u);
  EXPECT_EQ(trains_of([](L4Spec& s) { s.payload.resize(1001); }), 2u);  // longer than the first
  EXPECT_EQ(trains_of([](L4Spec& s) { s.sport = 1; }), 2u);
  EXPECT_EQ(trains_of([](L4Spec& s) { s.ttl = 1; }), 2u);
  EXPECT_EQ(trains_of([](L4Spec& s) { s.payload.clear(); }), 2u);
  // A UDP datagram over IPv4 may go without a checksum: it is written as it came.
  Stream s = stream(false);
  udp_stream(s);
  std::vector<Packet> in = {s.next(700), s.next(700), s.next(700)};
  in[1][26] = in[1][27] = 0;
  auto out = coalesce(in, true);
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[1].frame, in[1]);
}

// The IPv4 ID (and so the header checksum) of a coalesced packet is not kept: segmenting
// numbers the packets of a train from the first one's ID, as GRO in the kernel does with DF set.
Packet without_ipv4_id(Packet p) {
  if (p.size() >= 20 && (p[0] >> 4) == 4) p[4] = p[5] = p[10] = p[11] = 0;
  return p;
}

// Random batches of several flows with every kind of disturbance: each packet comes out
// exactly once, and each flow's packets keep their order.
TEST(TcpGro, RandomBatchesKeepEveryPacketAndEachFlowsOrder) {
  std::mt19937 rng(3);
  Gro gro(512);
  gro.set_udp(true);
  for (int iter = 0; iter < 200; ++iter) {
    std::vector<Stream> flows;
    const int nflows = 1 + static_cast<int>(rng() % 4);
    for (int f = 0; f < nflows; ++f) {
      flows.push_back(stream(rng() % 2, static_cast<uint16_t>(1000 + f)));
      if (rng() % 3 == 0) udp_stream(flows.back());
    }
    std::vector<Packet> in;
    std::vector<int> owner;
    const size_t n = rng() % 300;
    for (size_t i = 0; i < n; ++i) {
      const int f = static_cast<int>(rng() % nflows);
      Stream& s = flows[f];
      const unsigned r = rng() % 20;
      size_t payload = r == 0 ? rng() % 1400 : 1200;
      uint8_t flags = r == 1 ? 0x18 : r == 2 ? 0x11 : 0x10;
      if (r == 3) s.spec.seq += 100;  // a gap
      if (r == 4) s.spec.ack += 1;
      if (r == 5) s.spec.ttl = static_cast<uint8_t>(s.spec.ttl - 1);
      in.push_back(s.next(payload, flags));
      owner.push_back(f);
    }
    auto out = coalesce(in, gro);
    for (const auto& w : out)
      expect_well_formed(w);
    auto back = resegment_all(out);
    ASSERT_EQ(back.size(), in.size()) << "iteration " << iter;
    // Per flow, the order is the input's.
    std::map<std::vector<uint8_t>, int> index_of;
    for (size_t i = 0; i < in.size(); ++i)
      index_of[without_ipv4_id(in[i])] = static_cast<int>(i);
    std::vector<int> last(nflows, -1);
    for (const auto& p : back) {
      auto it = index_of.find(without_ipv4_id(p));
      ASSERT_NE(it, index_of.end()) << "iteration " << iter << ": a packet changed";
      const int f = owner[it->second];
      EXPECT_GT(it->second, last[f]) << "iteration " << iter;
      last[f] = it->second;
    }
  }
}

}  // namespace
}  // namespace tern::wire

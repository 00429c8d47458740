// The TUN offloads against the real kernel, the way the data path uses them: the test plays the
// far end of a TCP connection to a socket in a private network namespace, writing its packets
// into the TUN and reading the kernel's. Received data goes in as coalesced GRO frames
// (wire/gro) and must reach the socket intact, UDP datagrams too (as a USO frame); data the
// socket sends comes out as TSO super-packets that wire/gso_split must cut into valid packets
// carrying every byte in order.
// Needs root (a network namespace and a TUN); skipped otherwise.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <functional>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "io/clock.hpp"
#include "io/fd.hpp"
#include "io/netlink.hpp"
#include "io/poller.hpp"
#include "io/tun.hpp"
#include "wire/gro.hpp"
#include "wire/gso_split.hpp"
#include "wire/packet_builder.hpp"
#include "wire/virtio_net.hpp"

namespace tern {
namespace {

using Packet = std::vector<uint8_t>;
using wire::test::L4Spec;

constexpr uint16_t kServerPort = 5001;
constexpr uint16_t kPeerPort = 40001;
constexpr uint8_t kSyn = 0x02, kAck = 0x10, kPsh = 0x08;

std::string run_in_new_netns(const std::function<void()>& body) {
  std::string skip;
  std::thread t([&] {
    if (::unshare(CLONE_NEWNET) != 0) {
      skip = std::string("unshare(CLONE_NEWNET) failed: ") + std::strerror(errno);
      return;
    }
    body();
  });
  t.join();
  return skip;
}

uint32_t be32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
}

// The far end, 10.99.0.2:kPeerPort, talking to the server socket at 10.99.0.1:kServerPort.
struct Peer {
  io::Tun& tun;
  uint32_t seq = 1000;  // next byte we send
  uint32_t ack = 0;     // next byte we expect
  uint16_t ip_id = 1;

  L4Spec spec(uint8_t flags, size_t payload = 0, uint32_t payload_seed = 0) {
    L4Spec s;
    s.src[1] = s.dst[1] = 99;  // 10.99.0.2 -> 10.99.0.1
    s.src[3] = 2;
    s.dst[3] = 1;
    s.sport = kPeerPort;
    s.dport = kServerPort;
    s.seq = seq;
    s.ack = ack;
    s.flags = flags;
    s.window = 0xffff;
    s.ip_id = ip_id++;
    s.payload = wire::test::payload_pattern(payload, payload_seed);
    return s;
  }

  void write_alone(const L4Spec& s) {
    Packet p = wire::test::build_packet(s);
    auto w = tun.write(p);
    ASSERT_TRUE(w) << w.error().message;
  }
};

// The next frame the kernel sends to the peer's port, or empty after 5 s.
struct Frame {
  wire::VirtioNetHeader header;
  Packet packet;
};
std::optional<Frame> read_tcp_frame(io::Tun& tun) {
  auto poller = io::Poller::create();
  EXPECT_TRUE(poller && poller->add(tun.fd(), 1, true, false));
  std::vector<uint8_t> buf(io::Tun::kMaxFrameSize);
  const Instant deadline = io::monotonic_now() + std::chrono::seconds(5);
  while (io::monotonic_now() < deadline) {
    auto n = tun.read_frame(buf);
    EXPECT_TRUE(n) << n.error().message;
    if (!n) return std::nullopt;
    if (*n == 0) {
      io::Ready ready[1];
      (void)poller->wait(deadline - io::monotonic_now(), ready);
      continue;
    }
    auto h = wire::parse_virtio_net_header(Bytes(buf.data(), *n));
    EXPECT_TRUE(h);
    Packet p(buf.begin() + wire::kVirtioNetHeaderSize, buf.begin() + static_cast<long>(*n));
    // Only IPv4 TCP to the peer's port; the kernel also sends other things (IPv6 MLD, ...).
    if (p.size() >= 40 && p[0] == 0x45 && p[9] == 6 && (p[22] << 8 | p[23]) == kPeerPort) {
      return Frame{*h, p};
    }
  }
  return std::nullopt;
}

void offloads_in_netns() {
  auto nl = io::Netlink::open();
  ASSERT_TRUE(nl) << nl.error().message;
  auto tun = io::Tun::open("ternoff%d");
  ASSERT_TRUE(tun) << tun.error().message;
  ASSERT_TRUE(tun->vnet_header());
  auto offloads = tun->enable_offloads();
  ASSERT_TRUE(offloads) << offloads.error().message;
  ASSERT_TRUE(offloads->tcp);
  auto idx = nl->link_index(tun->name());
  ASSERT_TRUE(idx);
  ASSERT_TRUE(nl->set_mtu(*idx, 1400));
  ASSERT_TRUE(nl->add_address(*idx, *IpPrefix::parse("10.99.0.1/24")));
  ASSERT_TRUE(nl->set_up(*idx));

  io::UniqueFd listener(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  ASSERT_TRUE(listener.valid());
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(kServerPort);
  addr.sin_addr.s_addr = htonl(0x0a630001);
  ASSERT_EQ(::bind(listener.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::listen(listener.get(), 1), 0);

  // Handshake: SYN with an MSS of 1360, SYN-ACK, ACK.
  Peer peer{*tun};
  L4Spec syn = peer.spec(kSyn);
  syn.options = {2, 4, 0x05, 0x50};
  peer.write_alone(syn);
  peer.seq += 1;
  auto synack = read_tcp_frame(*tun);
  ASSERT_TRUE(synack) << "no SYN-ACK";
  ASSERT_EQ(synack->packet[33] & (kSyn | kAck), kSyn | kAck);
  peer.ack = be32(&synack->packet[24]) + 1;
  peer.write_alone(peer.spec(kAck));
  io::UniqueFd conn(::accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
  ASSERT_TRUE(conn.valid()) << std::strerror(errno);
  timeval tv{5, 0};
  ASSERT_EQ(::setsockopt(conn.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv), 0);

  // In: three trains of 15 packets (the last with PSH) as GRO frames, checked by the socket.
  std::vector<Packet> packets;
  Packet sent;
  for (int i = 0; i < 45; ++i) {
    const bool last = i % 15 == 14;
    L4Spec s = peer.spec(last ? kAck | kPsh : kAck, last ? 500 : 1360, static_cast<uint32_t>(i));
    peer.seq += static_cast<uint32_t>(s.payload.size());
    sent.insert(sent.end(), s.payload.begin(), s.payload.end());
    packets.push_back(wire::test::build_packet(s));
  }
  wire::Gro gro(64);
  for (auto& p : packets)
    ASSERT_TRUE(gro.add(p));
  gro.finish();
  ASSERT_EQ(gro.frame_count(), 3u);
  for (size_t i = 0; i < gro.frame_count(); ++i) {
    auto f = gro.frame(i);
    EXPECT_EQ(f.packets, 15u);
    uint8_t header[wire::kVirtioNetHeaderSize];
    ASSERT_TRUE(wire::serialize_virtio_net_header(f.header, header));
    std::vector<Bytes> parts = {Bytes(header, sizeof header)};
    parts.insert(parts.end(), f.parts.begin(), f.parts.end());
    auto w = tun->write_frame(parts);
    ASSERT_TRUE(w) << w.error().message;
  }
  Packet got(sent.size());
  size_t have = 0;
  while (have < got.size()) {
    ssize_t n = ::recv(conn.get(), got.data() + have, got.size() - have, 0);
    ASSERT_GT(n, 0) << "the socket got " << have << " of " << got.size() << " bytes";
    have += static_cast<size_t>(n);
  }
  EXPECT_EQ(got, sent);

  // In, UDP: a USO frame reaches a plain UDP socket as the datagrams it was made of.
  if (offloads->udp) {
    io::UniqueFd udp(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    ASSERT_TRUE(udp.valid());
    sockaddr_in uaddr = addr;
    uaddr.sin_port = htons(kServerPort + 1);
    ASSERT_EQ(::bind(udp.get(), reinterpret_cast<sockaddr*>(&uaddr), sizeof uaddr), 0);
    ASSERT_EQ(::setsockopt(udp.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv), 0);
    std::vector<Packet> datagrams;
    wire::Gro ugro(64);
    ugro.set_udp(true);
    for (int i = 0; i < 13; ++i) {
      L4Spec s = peer.spec(0, i == 12 ? 300 : 1000, static_cast<uint32_t>(100 + i));
      s.tcp = false;
      s.dport = kServerPort + 1;
      datagrams.push_back(wire::test::build_packet(s));
    }
    for (auto& d : datagrams)
      ASSERT_TRUE(ugro.add(d));
    ugro.finish();
    ASSERT_EQ(ugro.frame_count(), 1u);
    auto f = ugro.frame(0);
    EXPECT_EQ(f.header.gso_type, wire::kVirtioNetGsoUdpL4);
    uint8_t header[wire::kVirtioNetHeaderSize];
    ASSERT_TRUE(wire::serialize_virtio_net_header(f.header, header));
    std::vector<Bytes> parts = {Bytes(header, sizeof header)};
    parts.insert(parts.end(), f.parts.begin(), f.parts.end());
    auto w = tun->write_frame(parts);
    ASSERT_TRUE(w) << w.error().message;
    for (int i = 0; i < 13; ++i) {
      Packet want =
          wire::test::payload_pattern(i == 12 ? 300 : 1000, static_cast<uint32_t>(100 + i));
      Packet buf(2000);
      ssize_t n = ::recv(udp.get(), buf.data(), buf.size(), 0);
      ASSERT_EQ(n, static_cast<ssize_t>(want.size())) << "datagram " << i;
      buf.resize(static_cast<size_t>(n));
      EXPECT_EQ(buf, want) << "datagram " << i;
    }
  }

  // Out: the socket sends 200 KB; TSO frames come out and are cut into valid packets.
  Packet out = wire::test::payload_pattern(200'000, 77);
  std::thread writer([&] {
    size_t done = 0;
    while (done < out.size()) {
      ssize_t n = ::send(conn.get(), out.data() + done, out.size() - done, MSG_NOSIGNAL);
      if (n <= 0) return;
      done += static_cast<size_t>(n);
    }
  });
  const uint32_t base = peer.ack;
  std::map<uint32_t, Packet> segments;  // by sequence number
  size_t gso_frames = 0, partial = 0;
  while (peer.ack - base < out.size()) {
    auto f = read_tcp_frame(*tun);
    if (!f) break;
    std::vector<Packet> cut;
    if (f->header.gso_type == wire::kVirtioNetGsoNone) {
      if (f->header.flags & wire::kVirtioNetNeedsCsum) {
        ++partial;
        ASSERT_TRUE(wire::complete_partial_checksum(f->packet, f->header));
      }
      cut.push_back(f->packet);
    } else {
      ++gso_frames;
      auto g = wire::parse_gso_frame(f->header, f->packet);
      ASSERT_TRUE(g) << "gso_type " << int(f->header.gso_type);
      EXPECT_LE(g->max_packet_size, 1400u);
      for (size_t k = 0; k < g->segment_count; ++k) {
        Packet p(g->max_packet_size);
        p.resize(wire::write_gso_segment(*g, f->packet, k, p));
        cut.push_back(p);
      }
    }
    for (const auto& p : cut) {
      ASSERT_TRUE(wire::test::checksums_valid(p));
      const size_t th = static_cast<size_t>(p[32] >> 4) * 4;
      const uint32_t seq = be32(&p[24]);
      if (p.size() > 20 + th)
        segments[seq] = Packet(p.begin() + static_cast<long>(20 + th), p.end());
    }
    // Acknowledge everything contiguous.
    for (auto it = segments.find(peer.ack); it != segments.end(); it = segments.find(peer.ack))
      peer.ack += static_cast<uint32_t>(it->second.size());
    peer.write_alone(peer.spec(kAck));
  }
  writer.join();
  Packet received;
  for (uint32_t s = base; s != peer.ack;) {
    auto it = segments.find(s);
    ASSERT_NE(it, segments.end());
    received.insert(received.end(), it->second.begin(), it->second.end());
    s += static_cast<uint32_t>(it->second.size());
  }
  EXPECT_EQ(received, out);
  EXPECT_GT(gso_frames, 0u) << "TSO never produced a super-packet";
  (void)partial;
}

TEST(TunOffload, GroFramesInAndTsoFramesOutCarryATcpStreamIntact) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root (creates a network namespace and a TUN)";
  std::string skip = run_in_new_netns(offloads_in_netns);
  if (!skip.empty()) GTEST_SKIP() << skip;
}

}  // namespace
}  // namespace tern

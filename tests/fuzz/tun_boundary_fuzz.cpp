// Fuzzes what the agent does to inner packets at the TUN boundary when they exceed a peer's
// MTU: ICMP Packet Too Big, TCP MSS clamping and IPv4 fragmentation. The first two input
// bytes choose the MTU; the rest is the packet. Every ICMP built must carry valid checksums
// and fit its limit; a clamped segment whose checksum was valid must stay valid; fragments
// must fit the MTU and carry the original payload in order (IPv6 too, below 1280). The same
// input then goes through core::TunBoundary both ways, whose verdicts must agree with those
// functions.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "core/tun_boundary.hpp"
#include "wire/icmp_too_big.hpp"
#include "wire/ip_upper_layer.hpp"
#include "wire/ipv4_fragment.hpp"
#include "wire/tcp_mss.hpp"

using namespace tern;

namespace {

void require(bool ok) {
  if (!ok) std::abort();
}

// RFC 1071, the plain way, over `data` plus an initial (uncomplemented) sum.
uint16_t slow_sum(const uint8_t* data, size_t n, uint32_t sum = 0) {
  for (size_t i = 0; i < n; i += 2) {
    sum += uint32_t{data[i]} << 8 | (i + 1 < n ? data[i + 1] : 0);
    while (sum >> 16)
      sum = (sum & 0xffff) + (sum >> 16);
  }
  return static_cast<uint16_t>(sum);
}

uint32_t pseudo(const uint8_t* packet, bool v6, uint8_t protocol, size_t length) {
  uint8_t ph[40] = {};
  size_t n;
  if (v6) {
    std::memcpy(ph, packet + 8, 32);
    ph[34] = static_cast<uint8_t>(length >> 8);
    ph[35] = static_cast<uint8_t>(length);
    ph[39] = protocol;
    n = 40;
  } else {
    std::memcpy(ph, packet + 12, 8);
    ph[9] = protocol;
    ph[10] = static_cast<uint8_t>(length >> 8);
    ph[11] = static_cast<uint8_t>(length);
    n = 12;
  }
  return slow_sum(ph, n);
}

bool tcp_checksum_ok(const std::vector<uint8_t>& p, const wire::UpperLayer& u) {
  const size_t len = u.total_length - u.offset;
  return slow_sum(p.data() + u.offset, len, pseudo(p.data(), u.is_v6, wire::kProtoTcp, len)) ==
         0xffff;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const size_t mtu = (size_t{data[0]} << 8 | data[1]) % 10000;
  std::vector<uint8_t> packet(data + 2, data + size);
  const auto u = wire::find_upper_layer(packet);
  if (u) require(u->offset <= u->total_length && u->total_length <= packet.size());

  // ICMP Packet Too Big.
  uint8_t icmp[wire::kPacketTooBigMaxSize];
  if (const size_t n = wire::build_packet_too_big(packet, mtu, icmp)) {
    require(u && u->total_length > mtu);
    if (u->is_v6) {
      require(n <= 1280 && n >= 48 && icmp[40] == 2);
      require(slow_sum(icmp + 40, n - 40, pseudo(icmp, true, wire::kProtoIcmpv6, n - 40)) ==
              0xffff);
    } else {
      require(n <= 576 && n >= 28 && icmp[20] == 3 && icmp[21] == 4);
      require(slow_sum(icmp, 20) == 0xffff);
      require(slow_sum(icmp + 20, n - 20) == 0xffff);
    }
  }

  // MSS clamping keeps a valid checksum valid.
  if (u && u->protocol == wire::kProtoTcp && u->total_length - u->offset >= 20) {
    std::vector<uint8_t> copy = packet;
    const bool valid = tcp_checksum_ok(copy, *u);
    const auto r = wire::clamp_tcp_mss(copy, static_cast<uint16_t>(mtu), false);
    if (r != wire::MssClamp::kClamped) require(copy == packet);
    if (valid) require(tcp_checksum_ok(copy, *u));
  }

  // IPv4 fragmentation.
  std::vector<uint8_t> out(packet.size() * 3 + 4096);
  std::vector<size_t> sizes(1024);
  const size_t count = wire::fragment_ipv4(packet, mtu, out, sizes);
  if (count) {
    require(u && !u->is_v6 && count == wire::ipv4_fragment_count(packet, mtu));
    const size_t ihl = size_t{packet[0] & 0x0fu} * 4;
    const uint8_t* payload = packet.data() + ihl;
    size_t at = 0, placed = 0;
    for (size_t i = 0; i < count; ++i) {
      const uint8_t* f = out.data() + at;
      const size_t fihl = size_t{f[0] & 0x0fu} * 4;
      require(sizes[i] <= mtu && sizes[i] > fihl);
      require(slow_sum(f, fihl) == 0xffff);
      require(std::memcmp(f + fihl, payload + placed, sizes[i] - fihl) == 0);
      placed += sizes[i] - fihl;
      at += sizes[i];
    }
    require(placed == u->total_length - ihl);
  }

  // The boundary object: one per process, as the device keeps one, so the limiter runs out.
  static core::TunBoundary boundary;
  static int64_t clock_ns = 0;
  clock_ns += 1'000'000;
  std::vector<uint8_t> through = packet;
  const auto v = boundary.outbound(through, mtu, instant_from_ns(clock_ns), icmp);
  using Action = core::BoundaryVerdict::Action;
  switch (v.action) {
    case Action::kForward:
      require(!u || u->total_length <= mtu);
      require(v.mss_clamped || through == packet);
      break;
    case Action::kFragment:
      require(u.has_value());
      if (u->is_v6) {
        // IPv6 below 1280: fragments that fit, each with a Fragment header, holding the data.
        require(mtu < 1280 && u->total_length <= 1280);
        if (v.mss_clamped) break;  // the fragments carry the clamped segment
        const size_t skip = packet[6] == 44 ? 48 : 40;
        size_t placed = 0;
        for (size_t i = 0; i < v.fragment_count; ++i) {
          const Bytes f = boundary.fragment(i);
          require(f.size() <= mtu && f.size() > 48 && f[6] == 44);
          require(std::memcmp(f.data() + 48, packet.data() + skip + placed, f.size() - 48) == 0);
          placed += f.size() - 48;
        }
        require(placed == u->total_length - skip);
        break;
      }
      require(count == v.fragment_count);
      if (v.mss_clamped) break;  // the wire call above cut the unclamped packet
      for (size_t i = 0, at = 0; i < count; at += sizes[i], ++i) {
        const Bytes f = boundary.fragment(i);
        require(f.size() == sizes[i] && std::memcmp(f.data(), out.data() + at, f.size()) == 0);
      }
      break;
    case Action::kReply:
      require(v.reply_length > 0 && v.reply_length <= sizeof icmp);
      break;
    case Action::kDrop:
      require(v.drop != core::BoundaryDrop::kNone);
      break;
  }
  std::vector<uint8_t> back = packet;
  if (!boundary.inbound(back, mtu)) require(back == packet);
  return 0;
}

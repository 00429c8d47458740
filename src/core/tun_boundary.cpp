#include "core/tun_boundary.hpp"

#include <algorithm>
#include <cstring>
#include <optional>

#include "wire/icmp_too_big.hpp"
#include "wire/ip_upper_layer.hpp"
#include "wire/ipv4_fragment.hpp"
#include "wire/tcp_mss.hpp"

namespace tern::core {
namespace {

inline constexpr size_t kMaxHeader = 60;
inline constexpr size_t kIpv6MinMtu = 1280;

bool clamp(MutableBytes packet, const wire::UpperLayer& u, size_t peer_mtu) {
  if (u.protocol != wire::kProtoTcp || !u.first_fragment) return false;
  const uint16_t mss = wire::mss_for_mtu(peer_mtu, u.is_v6);
  if (mss == 0) return false;
  return wire::clamp_tcp_mss(packet, mss) == wire::MssClamp::kClamped;
}

}  // namespace

bool PtbLimiter::allow(Instant now) {
  constexpr Duration kFull = kInterval * kBurst;
  if (started_ && now > last_) {
    const Duration elapsed = now - last_;
    credit_ = elapsed >= kFull ? kFull : std::min(kFull, credit_ + elapsed);
  }
  if (!started_ || now > last_) last_ = now;
  started_ = true;
  if (credit_ < kInterval) return false;
  credit_ -= kInterval;
  return true;
}

TunBoundary::TunBoundary() : fragments_(kMaxPacket + kMaxFragments * kMaxHeader) {}

BoundaryVerdict TunBoundary::outbound(MutableBytes packet, size_t peer_mtu, Instant now,
                                      MutableBytes reply_out) {
  BoundaryVerdict v;
  const std::optional<wire::UpperLayer> u = wire::find_upper_layer(packet);
  if (!u) {
    if (packet.size() <= peer_mtu) return v;
    ++counters_.too_big_dropped;
    v.action = BoundaryVerdict::Action::kDrop;
    v.drop = BoundaryDrop::kTooBig;
    return v;
  }
  const MutableBytes ip = packet.first(u->total_length);
  if (clamp(ip, *u, peer_mtu)) {
    ++counters_.mss_clamped;
    v.mss_clamped = true;
  }
  if (u->total_length <= peer_mtu) return v;
  return too_big(ip, peer_mtu, now, reply_out, v);
}

BoundaryVerdict TunBoundary::too_big(MutableBytes packet, size_t peer_mtu, Instant now,
                                     MutableBytes reply_out, BoundaryVerdict v) {
  const bool v6 = (packet[0] >> 4) == 6;
  const bool v4_may_fragment = !v6 && (packet[6] & 0x40) == 0;
  // IPv6 needs 1280 from every link (RFC 8200 §5): a tunnel with less carries up to 1280 in
  // fragments, and tells senders of larger packets 1280, never less (they would ignore it).
  const bool v6_fits_link = v6 && peer_mtu < kIpv6MinMtu && packet.size() <= kIpv6MinMtu;
  if (v4_may_fragment || v6_fits_link) {
    const size_t n = v6 ? fragment_v6(packet, peer_mtu)
                        : wire::fragment_ipv4(packet, peer_mtu, fragments_, sizes_);
    if (n > 0) {
      size_t at = 0;
      for (size_t i = 0; i < n; ++i) {
        offsets_[i] = at;
        at += sizes_[i];
      }
      ++counters_.packets_fragmented;
      counters_.fragments_made += n;
      v.action = BoundaryVerdict::Action::kFragment;
      v.fragment_count = n;
      return v;
    }
  } else {
    const size_t announce = v6 ? std::max(peer_mtu, kIpv6MinMtu) : peer_mtu;
    // Built before the limiter is asked, so a packet that gets no PTB costs no token.
    const size_t n = wire::build_packet_too_big(packet, announce, reply_out);
    if (n > 0) {
      if (!limiter_.allow(now)) {
        ++counters_.ptb_rate_limited;
        v.action = BoundaryVerdict::Action::kDrop;
        v.drop = BoundaryDrop::kPtbRateLimited;
        return v;
      }
      ++counters_.ptb_sent;
      v.action = BoundaryVerdict::Action::kReply;
      v.reply_length = n;
      return v;
    }
  }
  ++counters_.too_big_dropped;
  v.action = BoundaryVerdict::Action::kDrop;
  v.drop = BoundaryDrop::kTooBig;
  return v;
}

// RFC 8200 §4.5: the fixed header (the only unfragmentable part handled here), a Fragment
// header, and 8-byte multiples of the rest. A packet that is already a fragment is cut further
// under its own identification, offsets counted from its own.
//   Next Header (8) | Reserved (8) | Fragment Offset (13) | Res (2) | M (1) | Identification (32)
size_t TunBoundary::fragment_v6(Bytes p, size_t mtu) {
  constexpr size_t kFixed = 40;
  constexpr size_t kFragmentHeader = 8;
  constexpr uint8_t kHopByHop = 0, kRouting = 43, kFragment = 44;
  if (p.size() <= kFixed || mtu < kFixed + kFragmentHeader + 8) return 0;
  if (p[6] == kHopByHop || p[6] == kRouting) return 0;
  uint8_t next = p[6];
  size_t base = 0;  // the original's offset, in bytes
  bool more = false;
  uint32_t id = 0;
  Bytes data = p.subspan(kFixed);
  if (next == kFragment) {
    if (p.size() < kFixed + kFragmentHeader) return 0;
    next = p[kFixed];
    base = static_cast<size_t>((p[kFixed + 2] << 8) | (p[kFixed + 3] & 0xf8));
    more = (p[kFixed + 3] & 1) != 0;
    id = static_cast<uint32_t>(p[kFixed + 4] << 24 | p[kFixed + 5] << 16 | p[kFixed + 6] << 8 |
                               p[kFixed + 7]);
    data = p.subspan(kFixed + kFragmentHeader);
  } else {
    id = next_fragment_id_++;
  }
  const size_t chunk = (mtu - kFixed - kFragmentHeader) / 8 * 8;
  const size_t count = (data.size() + chunk - 1) / chunk;
  if (count < 1 || count > kMaxFragments || base + (count - 1) * chunk > 0xfff8) return 0;
  if (data.size() + count * (kFixed + kFragmentHeader) > fragments_.size()) return 0;
  size_t at = 0;
  for (size_t i = 0, pos = 0; i < count; ++i, pos += chunk) {
    const size_t length = std::min(chunk, data.size() - pos);
    uint8_t* f = fragments_.data() + at;
    std::memcpy(f, p.data(), kFixed);
    const size_t payload = kFragmentHeader + length;
    f[4] = static_cast<uint8_t>(payload >> 8);
    f[5] = static_cast<uint8_t>(payload);
    f[6] = kFragment;
    const size_t offset = base + pos;
    const bool m = more || pos + length < data.size();
    uint8_t* h = f + kFixed;
    h[0] = next;
    h[1] = 0;
    h[2] = static_cast<uint8_t>(offset >> 8);
    h[3] = static_cast<uint8_t>((offset & 0xf8) | (m ? 1 : 0));
    h[4] = static_cast<uint8_t>(id >> 24);
    h[5] = static_cast<uint8_t>(id >> 16);
    h[6] = static_cast<uint8_t>(id >> 8);
    h[7] = static_cast<uint8_t>(id);
    std::memcpy(h + kFragmentHeader, data.data() + pos, length);
    sizes_[i] = kFixed + payload;
    at += sizes_[i];
  }
  return count;
}

bool TunBoundary::inbound(MutableBytes packet, size_t peer_mtu) {
  const std::optional<wire::UpperLayer> u = wire::find_upper_layer(packet);
  if (!u || !clamp(packet.first(u->total_length), *u, peer_mtu)) return false;
  ++counters_.mss_clamped;
  return true;
}

size_t TunBoundary::write_fragment(size_t i, MutableBytes out) const {
  const Bytes f = fragment(i);
  if (out.size() < f.size()) return 0;
  std::memcpy(out.data(), f.data(), f.size());
  return f.size();
}

}  // namespace tern::core

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
  const bool v4_may_fragment = (packet[0] >> 4) == 4 && (packet[6] & 0x40) == 0;
  if (v4_may_fragment) {
    const size_t n = wire::fragment_ipv4(packet, peer_mtu, fragments_, sizes_);
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
    // Built before the limiter is asked, so a packet that gets no PTB costs no token.
    const size_t n = wire::build_packet_too_big(packet, peer_mtu, reply_out);
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

// The TUN boundary in the device (issue 4 §4): an inner packet larger than its peer's overlay
// MTU goes through TunBoundary:
//   IPv6, or IPv4 with DF -> an ICMP too-big for the sender, out of poll_tun_write()
//   IPv4 without DF       -> fragments, each encrypted and sent through poll_transmit()
// and TCP SYN / SYN-ACK have their MSS clamped both ways. A packet that fits and is no SYN
// costs one length compare and a few byte loads.
#include <cstring>

#include "core/device.hpp"
#include "wire/icmp_too_big.hpp"
#include "wire/ip_upper_layer.hpp"

namespace tern::core {
namespace {

// Where encrypted fragments wait: a few 64 KiB packets' worth.
constexpr size_t kFragmentOutSize = 4 * (65536 + 64 * (kSendHeadroom + kSendTailroom));
constexpr size_t kPtbSlots = 16;

// Could this be a TCP SYN (or SYN-ACK)? Cheap, on every packet: false for most. IPv6 extension
// headers are left to the boundary's full parse.
bool maybe_tcp_syn(Bytes p) {
  if (p.size() < 40) return false;
  const unsigned version = p[0] >> 4;
  if (version == 4) {
    const size_t ihl = size_t{p[0] & 0x0Fu} * 4;
    const bool first = (p[6] & 0x1F) == 0 && p[7] == 0;
    return p[9] == wire::kProtoTcp && first && p.size() > ihl + 13 && (p[ihl + 13] & 0x02);
  }
  if (version == 6) {
    const uint8_t next = p[6];
    if (next == wire::kProtoTcp) return p.size() > 53 && (p[53] & 0x02);
    return next == 0 || next == 43 || next == 44 || next == 60;  // extension headers
  }
  return false;
}

}  // namespace

std::optional<SendResult> Device::at_boundary(Peer& p, MutableBytes buffer, size_t length,
                                              size_t limit, Instant now) {
  if (length <= limit && !(mss_clamp_ && maybe_tcp_syn(buffer.subspan(kSendHeadroom, length)))) {
    return std::nullopt;
  }
  if (ptb_ring_.empty()) ptb_ring_.assign(kPtbSlots * wire::kPacketTooBigMaxSize, 0);
  MutableBytes reply(
      ptb_ring_.data() + ((ptb_head_ + ptb_count_) % kPtbSlots) * wire::kPacketTooBigMaxSize,
      wire::kPacketTooBigMaxSize);
  const BoundaryVerdict v =
      boundary_.outbound(buffer.subspan(kSendHeadroom, length), limit, now, reply);
  if (v.mss_clamped) p.path.boundary.mss_clamped += 1;
  SendResult r;
  switch (v.action) {
    case BoundaryVerdict::Action::kForward:
      return std::nullopt;
    case BoundaryVerdict::Action::kFragment:
      return send_fragments(p, v.fragment_count, now);
    case BoundaryVerdict::Action::kReply:
      if (ptb_count_ == kPtbSlots) {  // the agent has not taken the last ones: the oldest goes
        ptb_head_ = (ptb_head_ + 1) % kPtbSlots;
        --ptb_count_;
      }
      ptb_lengths_[(ptb_head_ + ptb_count_) % kPtbSlots] = v.reply_length;
      ++ptb_count_;
      p.path.boundary.ptb_sent += 1;
      r.kind = SendResult::Kind::kTooBig;
      return r;
    case BoundaryVerdict::Action::kDrop:
      r.reason = v.drop == BoundaryDrop::kPtbRateLimited ? DropReason::kRateLimited
                                                         : DropReason::kMtuExceeded;
      drop(r.reason, &p);
      return r;
  }
  return std::nullopt;
}

SendResult Device::send_fragments(Peer& p, size_t count, Instant now) {
  SendResult r;
  Keypair* kp = p.current.get();
  const bool can_send = kp && kp->can_send(now);
  if (fragment_out_.empty()) fragment_out_.assign(kFragmentOutSize, 0);
  for (size_t i = 0; i < count; ++i) {
    const Bytes f = boundary_.fragment(i);
    p.path.boundary.fragments_made += 1;
    if (!can_send) {
      stage(p, f);
      continue;
    }
    const size_t room = kSendHeadroom + f.size() + kSendTailroom;
    if (fragment_used_ + room > fragment_out_.size()) {
      drop(DropReason::kQueueFull, &p);
      continue;
    }
    MutableBytes slot(fragment_out_.data() + fragment_used_, room);
    std::memcpy(slot.data() + kSendHeadroom, f.data(), f.size());
    const size_t n = encrypt_for(p, *kp, slot, f.size(), now);
    fragments_.push_back({*p.endpoint, fragment_used_, n});
    fragment_used_ += room;
  }
  if (!can_send) send_initiation(p, now, /*is_retry=*/false);
  r.kind = SendResult::Kind::kQueued;
  return r;
}

std::optional<Transmit> Device::next_fragment() {
  if (fragments_.empty()) {
    fragment_used_ = 0;
    return std::nullopt;
  }
  const FragmentOut f = fragments_.front();
  fragments_.pop_front();
  // The bytes stay put until the queue has drained and a later send reuses them.
  return Transmit{f.to, Bytes(fragment_out_.data() + f.offset, f.length)};
}

void Device::clamp_inbound(Peer& p, MutableBytes packet) {
  if (!mss_clamp_ || !maybe_tcp_syn(packet)) return;
  const size_t limit = p.path.overlay_mtu ? p.path.overlay_mtu : mtu_;
  if (boundary_.inbound(packet, limit)) p.path.boundary.mss_clamped += 1;
}

std::optional<Bytes> Device::poll_tun_write() {
  if (ptb_count_ == 0) return std::nullopt;
  const size_t slot = ptb_head_;
  ptb_head_ = (ptb_head_ + 1) % kPtbSlots;
  --ptb_count_;
  return Bytes(ptb_ring_.data() + slot * wire::kPacketTooBigMaxSize, ptb_lengths_[slot]);
}

}  // namespace tern::core

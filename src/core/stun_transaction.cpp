#include "core/stun_transaction.hpp"

namespace tern::core {

std::string_view stun_transport_name(StunTransport t) {
  switch (t) {
    case StunTransport::kUdp:
      return "UDP";
    case StunTransport::kTcp:
      return "TCP";
    case StunTransport::kTls:
      return "TLS";
  }
  return "?";
}

Duration RetransmitPolicy::give_up_after(StunTransport t) const {
  if (is_stream(t)) return stream_timeout;
  // Sends at 0, rto, 3 rto, 7 rto, ...: the last of rc sends is at (2^(rc-1) - 1) * rto.
  Duration last_send{0};
  Duration interval = rto;
  for (unsigned i = 1; i < rc; ++i) {
    last_send += interval;
    interval *= 2;
  }
  return last_send + rto * rm;
}

StunRetransmit::StunRetransmit(StunTransport transport, Instant sent,
                               const RetransmitPolicy& policy)
    : policy_(policy), stream_(is_stream(transport)), first_sent_(sent), interval_(policy.rto) {
  if (stream_ || policy_.rc <= 1) {
    next_ = sent + policy_.give_up_after(transport);
  } else {
    next_ = sent + interval_;
  }
}

std::optional<Instant> StunRetransmit::deadline() const {
  if (done_) return std::nullopt;
  return next_;
}

StunRetransmit::Due StunRetransmit::poll(Instant now) {
  if (done_ || now < next_) return Due::kNothing;
  if (stream_ || sends_ >= policy_.rc) {
    done_ = true;
    return Due::kTimedOut;
  }
  // Move to the next send; a caller that slept through several steps resends once.
  do {
    ++sends_;
    interval_ *= 2;
    // After the last send only the final wait remains.
    next_ += sends_ >= policy_.rc ? policy_.rto * policy_.rm : interval_;
  } while (next_ <= now && sends_ < policy_.rc);
  if (next_ <= now) {  // even the final wait has passed
    done_ = true;
    return Due::kTimedOut;
  }
  return Due::kRetransmit;
}

}  // namespace tern::core

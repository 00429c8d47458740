// When to resend a STUN request and when to give up on it (RFC 8489 §6.2).
// Over UDP the request is resent after RTO, 2*RTO, 4*RTO, ... until Rc sends,
// then the client waits Rm*RTO more: with RTO 500 ms, Rc 7 and Rm 16 the sends go
// at 0, 0.5, 1.5, 3.5, 7.5, 15.5 and 31.5 s and the transaction fails at 39.5 s.
// Over TCP and TLS the stream is reliable: one send, one timeout Ti of 39.5 s.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "base/time.hpp"

namespace tern::core {

enum class StunTransport : uint8_t { kUdp, kTcp, kTls };

constexpr bool is_stream(StunTransport t) {
  return t != StunTransport::kUdp;
}
// "UDP", "TCP" or "TLS", for messages.
std::string_view stun_transport_name(StunTransport t);

struct RetransmitPolicy {
  Duration rto = std::chrono::milliseconds(500);
  unsigned rc = 7;                                             // sends in all, the first included
  unsigned rm = 16;                                            // the last wait is rm * rto
  Duration stream_timeout = std::chrono::milliseconds(39500);  // Ti

  // How long a request may go unanswered before it fails.
  Duration give_up_after(StunTransport t) const;
};

class StunRetransmit {
 public:
  enum class Due : uint8_t {
    kNothing,     // not yet
    kRetransmit,  // send the request again, unchanged
    kTimedOut,    // no answer: the transaction failed
  };

  // The first send happens at `sent`.
  StunRetransmit(StunTransport transport, Instant sent, const RetransmitPolicy& policy = {});

  // The next retransmission or the final timeout; nullopt once timed out.
  std::optional<Instant> deadline() const;
  // Call when `now` reaches deadline(); says what is due and moves to the next step.
  // Several missed steps at once count as one retransmission.
  Due poll(Instant now);

  Instant first_sent() const { return first_sent_; }
  unsigned sends() const { return sends_; }

 private:
  RetransmitPolicy policy_;
  bool stream_;
  Instant first_sent_;
  Instant next_;
  Duration interval_;
  unsigned sends_ = 1;
  bool done_ = false;
};

}  // namespace tern::core

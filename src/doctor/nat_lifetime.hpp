// How long the NAT keeps an idle UDP mapping, by the bounded search of RFC 5780 §4.6, run
// for every interval at once: one socket per interval gets its mapping and then idles;
// when its interval has passed, a separate prober socket asks the server to answer to that
// mapping's port (RESPONSE-PORT). The idle socket hears the answer only if the NAT still
// holds its mapping. The whole search costs the longest interval, not the sum.
//   sockets 0..n-1: one per interval (intervals[i]); socket n: the prober
#pragma once

#include <cstddef>
#include <deque>
#include <optional>
#include <vector>

#include "base/bytes.hpp"
#include "base/ip.hpp"
#include "base/time.hpp"
#include "core/stun_transaction.hpp"
#include "doctor/nat_discovery.hpp"
#include "doctor/nat_types.hpp"
#include "doctor/stun_probe.hpp"

namespace tern::doctor {

// `count` intervals evenly spread up to `longest` (24 s and 12: 2, 4, ..., 24 s).
[[nodiscard]] std::vector<Duration> lifetime_intervals(Duration longest, size_t count);

class LifetimeSearch {
 public:
  struct Config {
    Endpoint server;
    std::vector<Duration> intervals;
    core::RetransmitPolicy policy = nat_probe_policy();
    // The prober sends its request this many times, this far apart, then waits probe_wait.
    unsigned probe_sends = 3;
    Duration probe_spacing = std::chrono::milliseconds(300);
    Duration probe_wait = std::chrono::milliseconds(1500);
  };

  LifetimeSearch(Config config, Instant now);

  size_t sockets() const { return slots_.size() + 1; }
  size_t prober_socket() const { return slots_.size(); }

  void handle_input(size_t socket, const Endpoint& from, Bytes data, Instant now);
  void handle_timeout(Instant now);
  [[nodiscard]] std::optional<NatTransmit> poll_transmit();
  [[nodiscard]] std::optional<Instant> poll_timeout() const;
  bool done() const;
  // Intervals decided so far, for a progress line.
  size_t decided() const;
  const LifetimeResult& result() const { return result_; }

 private:
  enum class Phase : uint8_t { kMapping, kIdle, kProbing, kDecided };
  struct Slot {
    Phase phase = Phase::kMapping;
    BindingRequest mapping_request;
    std::vector<uint8_t> mapping_bytes;
    core::StunRetransmit timer;
    std::optional<Endpoint> mapped;
    Instant idle_since{};
    BindingRequest probe_request;
    std::vector<uint8_t> probe_bytes;
    unsigned probes_sent = 0;
    Instant next{};  // the next probe send, then the deadline
  };

  void decide(size_t i, IntervalOutcome outcome);
  void summarise();

  Config config_;
  std::vector<Slot> slots_;
  std::deque<NatTransmit> out_;
  LifetimeResult result_;
};

}  // namespace tern::doctor

// Internal to doctor/: the STUN Binding of the relay check's reachability step, one
// transaction resent on its timer. Every answer is read as untrusted input (stun_probe.hpp);
// answers it cannot use (malformed, from another address) are counted, and an error answer
// ends it, so that a server that answered but never usably is told from one that is silent.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "base/bytes.hpp"
#include "base/ip.hpp"
#include "base/time.hpp"
#include "core/stun_transaction.hpp"
#include "core/turn_errors.hpp"
#include "wire/stun.hpp"

namespace tern::doctor {

struct RelayBinding {
  wire::TransactionId id{};
  std::vector<uint8_t> message;
  core::StunRetransmit timer;
  Instant first{};
  std::optional<Endpoint> mapped;
  std::optional<Duration> rtt;
  std::string error;  // an error answer: what it said
  bool timed_out = false;
  core::TurnUnusableAnswers unusable;

  RelayBinding(Instant now, core::StunTransport transport, const core::RetransmitPolicy& policy);
  bool done() const { return mapped || !error.empty() || timed_out; }

  // Reads `data`, which came from `from` while the server is `server`.
  void receive(const Endpoint& from, const Endpoint& server, Bytes data, Instant now);
};

}  // namespace tern::doctor

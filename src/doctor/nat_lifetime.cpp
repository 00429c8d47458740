#include "doctor/nat_lifetime.hpp"

#include <algorithm>

#include "crypto/random.hpp"

namespace tern::doctor {

std::vector<Duration> lifetime_intervals(Duration longest, size_t count) {
  std::vector<Duration> out;
  if (count == 0) return out;
  for (size_t i = 1; i <= count; ++i) {
    // Whole seconds: a finer grid says no more than the NAT's own timer granularity does.
    const auto whole = std::chrono::duration_cast<std::chrono::seconds>(
        longest * static_cast<int64_t>(i) / static_cast<int64_t>(count));
    const Duration d = std::max<Duration>(std::chrono::seconds(1), whole);
    if (out.empty() || d > out.back()) out.push_back(d);
  }
  return out;
}

std::optional<unsigned> keepalive_for(const LifetimeResult& r) {
  if (!r.alive_max) return std::nullopt;
  // The lifetime lies between the longest survived idle time and the shortest fatal one.
  Duration estimate = *r.alive_max;
  if (r.dead_min && *r.dead_min > *r.alive_max) estimate = (*r.alive_max + *r.dead_min) / 2;
  const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(estimate).count();
  return static_cast<unsigned>(std::clamp<int64_t>(seconds * 2 / 3, 1, 25));
}

LifetimeSearch::LifetimeSearch(Config config, Instant now) : config_(std::move(config)) {
  std::sort(config_.intervals.begin(), config_.intervals.end());
  for (size_t i = 0; i < config_.intervals.size(); ++i) {
    BindingRequest r;
    crypto::random_bytes(r.id);
    auto bytes = build_binding_request(r);
    out_.push_back(NatTransmit{i, config_.server, bytes});
    slots_.push_back(Slot{Phase::kMapping,
                          r,
                          std::move(bytes),
                          core::StunRetransmit(core::StunTransport::kUdp, now, config_.policy),
                          std::nullopt,
                          Instant{},
                          BindingRequest{},
                          {},
                          0,
                          Instant{}});
    result_.intervals.push_back(LifetimeInterval{config_.intervals[i], IntervalOutcome::kPending});
  }
  if (slots_.empty()) result_.error = "no interval to test";
}

bool LifetimeSearch::done() const {
  return std::all_of(slots_.begin(), slots_.end(),
                     [](const Slot& s) { return s.phase == Phase::kDecided; });
}

size_t LifetimeSearch::decided() const {
  return static_cast<size_t>(std::count_if(
      slots_.begin(), slots_.end(), [](const Slot& s) { return s.phase == Phase::kDecided; }));
}

std::optional<NatTransmit> LifetimeSearch::poll_transmit() {
  if (out_.empty()) return std::nullopt;
  NatTransmit t = std::move(out_.front());
  out_.pop_front();
  return t;
}

std::optional<Instant> LifetimeSearch::poll_timeout() const {
  std::optional<Instant> t;
  auto take = [&t](Instant d) { t = t ? std::min(*t, d) : d; };
  for (const auto& s : slots_) {
    if (s.phase == Phase::kMapping && s.timer.deadline()) take(*s.timer.deadline());
    if (s.phase == Phase::kIdle || s.phase == Phase::kProbing) take(s.next);
  }
  return t;
}

void LifetimeSearch::decide(size_t i, IntervalOutcome outcome) {
  slots_[i].phase = Phase::kDecided;
  result_.intervals[i].outcome = outcome;
  summarise();
}

void LifetimeSearch::summarise() {
  result_.alive_max.reset();
  result_.dead_min.reset();
  for (const auto& iv : result_.intervals) {
    if (iv.outcome == IntervalOutcome::kAlive) {
      result_.alive_max = result_.alive_max ? std::max(*result_.alive_max, iv.idle) : iv.idle;
    } else if (iv.outcome == IntervalOutcome::kExpired) {
      result_.dead_min = result_.dead_min ? std::min(*result_.dead_min, iv.idle) : iv.idle;
    }
  }
}

void LifetimeSearch::handle_timeout(Instant now) {
  for (size_t i = 0; i < slots_.size(); ++i) {
    Slot& s = slots_[i];
    switch (s.phase) {
      case Phase::kMapping: {
        auto d = s.timer.deadline();
        if (!d || now < *d) break;
        const auto due = s.timer.poll(now);
        if (due == core::StunRetransmit::Due::kRetransmit) {
          out_.push_back(NatTransmit{i, config_.server, s.mapping_bytes});
        } else if (due == core::StunRetransmit::Due::kTimedOut) {
          decide(i, IntervalOutcome::kNoMapping);
          if (!result_.error.empty()) break;
          if (decided() == slots_.size() && !result_.alive_max && !result_.dead_min) {
            result_.error = "the server did not answer the idle sockets' Binding requests";
          }
        }
        break;
      }
      case Phase::kIdle:
        if (now < s.next) break;
        s.phase = Phase::kProbing;
        crypto::random_bytes(s.probe_request.id);
        s.probe_request.response_port = s.mapped->port;
        s.probe_bytes = build_binding_request(s.probe_request);
        [[fallthrough]];
      case Phase::kProbing:
        if (now < s.next) break;
        if (s.probes_sent < config_.probe_sends) {
          out_.push_back(NatTransmit{prober_socket(), config_.server, s.probe_bytes});
          ++s.probes_sent;
          s.next = now + (s.probes_sent < config_.probe_sends ? config_.probe_spacing
                                                              : config_.probe_wait);
        } else {
          decide(i, IntervalOutcome::kExpired);
        }
        break;
      case Phase::kDecided:
        break;
    }
  }
}

void LifetimeSearch::handle_input(size_t socket, const Endpoint& from, Bytes data, Instant now) {
  if (socket == prober_socket()) {
    // An answer to the prober itself means the server ignored RESPONSE-PORT.
    for (auto& s : slots_) {
      if (s.phase != Phase::kProbing) continue;
      if (read_binding_answer(data, s.probe_request.id).kind == AnswerKind::kAnswer) {
        result_.error =
            "the server ignores RESPONSE-PORT (RFC 5780): the mapping lifetime cannot be "
            "measured with it";
        for (size_t i = 0; i < slots_.size(); ++i) {
          if (slots_[i].phase != Phase::kDecided) decide(i, IntervalOutcome::kNoMapping);
        }
        return;
      }
    }
    return;
  }
  if (socket >= slots_.size()) return;
  Slot& s = slots_[socket];
  if (s.phase == Phase::kMapping) {
    if (from != config_.server) return;
    AnswerRead read = read_binding_answer(data, s.mapping_request.id);
    if (read.kind != AnswerKind::kAnswer) return;
    s.mapped = read.answer->mapped;
    // The mapping was last refreshed by this answer: idle time counts from here.
    s.idle_since = now;
    s.next = now + config_.intervals[socket];
    s.phase = Phase::kIdle;
  } else if (s.phase == Phase::kProbing) {
    if (read_binding_answer(data, s.probe_request.id).kind == AnswerKind::kAnswer) {
      decide(socket, IntervalOutcome::kAlive);
    }
  }
}

}  // namespace tern::doctor

#include "doctor/df_ping_search.hpp"

#include <algorithm>
#include <set>

namespace tern::doctor {

std::string_view size_outcome_name(SizeOutcome o) {
  switch (o) {
    case SizeOutcome::kPending:
      return "pending";
    case SizeOutcome::kAnswered:
      return "answered";
    case SizeOutcome::kLost:
      return "lost";
    case SizeOutcome::kTooBig:
      return "too_big";
    case SizeOutcome::kLocalLimit:
      return "local_limit";
  }
  return "unknown";
}

DfSearch::DfSearch(const DfSearchConfig& config, Instant now) : config_(config), start_(now) {
  config_.min_size = std::max<size_t>(config_.min_size, 1);
  config_.max_size = std::max(config_.max_size, config_.min_size);
  if (config_.reach_size >= config_.min_size) config_.reach_size = 0;
  config_.tries = std::max(config_.tries, 1u);
  config_.probes_per_round = std::max<size_t>(config_.probes_per_round, 1);
  high_ = config_.max_size + 1;
  start_round(now);
}

Duration DfSearch::timeout() const {
  if (!rtt_max_) return config_.probe_timeout;
  // Three round trips of the slowest answer so far: a late answer is rare, a long wait costly.
  const Duration t = 3 * *rtt_max_ + std::chrono::milliseconds(50);
  return std::clamp(t, std::min(config_.min_timeout, config_.probe_timeout), config_.probe_timeout);
}

void DfSearch::recompute() {
  low_ = 0;
  for (const auto& [size, s] : sizes_) {
    if (s.outcome == SizeOutcome::kAnswered) low_ = size;  // answered is authoritative
  }
  high_ = config_.max_size + 1;
  for (const auto& [size, s] : sizes_) {
    const bool lost = s.outcome == SizeOutcome::kLost || s.outcome == SizeOutcome::kTooBig ||
                      s.outcome == SizeOutcome::kLocalLimit;
    if (lost && size > low_) {
      high_ = size;
      break;
    }
  }
}

void DfSearch::settle(size_t size, SizeOutcome outcome) {
  auto& s = sizes_[size];
  if (s.outcome == SizeOutcome::kAnswered) return;
  s.outcome = outcome;
}

bool DfSearch::finished_search() const {
  if (low_ >= config_.max_size) return true;
  if (low_ >= config_.min_size && high_ <= low_ + 1) return true;
  if (low_ < config_.min_size) {
    // Nothing gets through at the smallest size searched: stop once the reachability probe
    // (if any) has settled too.
    auto min = sizes_.find(config_.min_size);
    const bool min_lost = min != sizes_.end() && min->second.outcome != SizeOutcome::kPending &&
                          min->second.outcome != SizeOutcome::kAnswered;
    if (!min_lost) return false;
    if (config_.reach_size == 0) return true;
    auto reach = sizes_.find(config_.reach_size);
    return reach != sizes_.end() && reach->second.outcome != SizeOutcome::kPending;
  }
  return false;
}

void DfSearch::finish(Instant now, bool out_of_time) {
  done_ = true;
  out_of_time_ = out_of_time;
  finished_ = now;
  queue_.clear();
  round_end_.reset();
}

void DfSearch::start_round(Instant now) {
  if (done_) return;
  recompute();
  if (finished_search()) return finish(now, false);
  if (now - start_ >= config_.budget) return finish(now, true);
  std::vector<size_t> round;
  std::set<size_t> chosen;
  auto add = [&](size_t size) {
    if (chosen.insert(size).second) round.push_back(size);
  };
  if (sizes_.empty()) {
    if (config_.reach_size) add(config_.reach_size);
    add(config_.min_size);
    add(config_.max_size);
  } else {
    // Retries first: sizes still open that have not used all their tries.
    for (const auto& [size, s] : sizes_) {
      if (s.outcome == SizeOutcome::kPending && s.attempts > 0 && size > low_ && size < high_) {
        add(size);
      }
    }
  }
  const size_t from = std::max(low_, config_.min_size);
  auto untried = [&](size_t size) {
    auto it = sizes_.find(size);
    return size > from && size < high_ && (it == sizes_.end() || it->second.attempts == 0);
  };
  // A "too big" error names the MTU of the link that refused: the likeliest answer.
  if (too_big_mtu_ && untried(*too_big_mtu_)) add(*too_big_mtu_);
  const size_t k = config_.probes_per_round;
  const size_t n = round.size() < k ? k - round.size() : 1;
  const size_t gap = high_ > from ? high_ - from : 0;
  for (size_t i = 1; i <= n && gap > 1; ++i) {
    const size_t p = from + gap * i / (n + 1);
    if (untried(p)) add(p);
  }
  if (round.empty()) return finish(now, false);
  queue_.assign(round.begin(), round.end());
  round_seqs_.clear();
  round_end_ = now + timeout();
}

std::optional<DfProbe> DfSearch::poll_transmit(Instant now) {
  if (done_ || queue_.empty()) return std::nullopt;
  const size_t size = queue_.front();
  queue_.pop_front();
  const uint16_t seq = next_seq_++;
  sizes_[size].attempts++;
  probes_[seq] = Probe{size, now, false};
  round_seqs_.push_back(seq);
  probes_sent_++;
  return DfProbe{seq, size};
}

void DfSearch::resolve_unanswered(uint16_t seq) {
  auto& p = probes_[seq];
  if (p.resolved) return;
  p.resolved = true;
  auto& s = sizes_[p.size];
  s.unanswered++;
  if (s.outcome == SizeOutcome::kPending && s.unanswered >= config_.tries) {
    s.outcome = SizeOutcome::kLost;
  }
}

void DfSearch::end_round_if_idle(Instant now) {
  if (done_) return;
  recompute();
  if (finished_search()) return finish(now, false);
  if (!queue_.empty()) return;
  for (uint16_t seq : round_seqs_) {
    if (!probes_[seq].resolved) return;
  }
  start_round(now);
}

void DfSearch::on_send_failed(uint16_t seq, bool too_big_locally, Instant now) {
  auto it = probes_.find(seq);
  if (it == probes_.end() || it->second.resolved) return;
  if (too_big_locally) {
    it->second.resolved = true;
    const size_t size = it->second.size;
    local_limit_ = local_limit_ ? std::min(*local_limit_, size) : size;
    settle(size, SizeOutcome::kLocalLimit);
  } else {
    resolve_unanswered(seq);
  }
  end_round_if_idle(now);
}

bool DfSearch::on_reply(uint16_t seq, Instant now) {
  auto it = probes_.find(seq);
  if (it == probes_.end()) return false;
  Probe& p = it->second;
  if (p.answered) return true;  // a duplicate
  p.answered = true;
  p.resolved = true;
  replies_++;
  const Duration rtt = now - p.sent;
  rtt_min_ = rtt_min_ ? std::min(*rtt_min_, rtt) : rtt;
  rtt_max_ = rtt_max_ ? std::max(*rtt_max_, rtt) : rtt;
  sizes_[p.size].outcome = SizeOutcome::kAnswered;
  end_round_if_idle(now);
  return true;
}

bool DfSearch::on_error(uint16_t seq, bool too_big, uint32_t mtu, Instant now) {
  auto it = probes_.find(seq);
  if (it == probes_.end()) return false;
  if (too_big) {
    too_big_errors_++;
    if (mtu > 0) too_big_mtu_ = too_big_mtu_ ? std::min(*too_big_mtu_, mtu) : mtu;
    if (!it->second.resolved) {
      it->second.resolved = true;
      settle(it->second.size, SizeOutcome::kTooBig);
    }
  } else {
    other_errors_++;
    resolve_unanswered(seq);
  }
  end_round_if_idle(now);
  return true;
}

std::optional<Instant> DfSearch::poll_timeout() const {
  if (done_) return std::nullopt;
  const Instant budget_end = start_ + config_.budget;
  if (!queue_.empty()) return start_;  // probes are waiting: now
  return round_end_ ? std::min(*round_end_, budget_end) : budget_end;
}

void DfSearch::handle_timeout(Instant now) {
  if (done_) return;
  if (now - start_ >= config_.budget) {
    for (uint16_t seq : round_seqs_)
      resolve_unanswered(seq);
    recompute();
    return finish(now, !finished_search());
  }
  if (!round_end_ || now < *round_end_ || !queue_.empty()) return;
  for (uint16_t seq : round_seqs_)
    resolve_unanswered(seq);
  start_round(now);
}

DfSearchResult DfSearch::result() const {
  DfSearchResult r;
  if (low_ > 0) r.largest_answered = low_;
  if (high_ <= config_.max_size) r.smallest_lost = high_;
  r.exact = low_ >= config_.max_size || (low_ >= config_.min_size && high_ <= low_ + 1);
  r.out_of_time = out_of_time_;
  r.too_big_mtu = too_big_mtu_;
  r.too_big_errors = too_big_errors_;
  r.other_errors = other_errors_;
  r.local_limit = local_limit_;
  r.probes_sent = probes_sent_;
  r.replies = replies_;
  r.rtt_min = rtt_min_;
  r.rtt_max = rtt_max_;
  r.elapsed = done_ ? finished_ - start_ : Duration{};
  for (const auto& [size, s] : sizes_)
    r.sizes.push_back(SizeRecord{size, s.attempts, s.outcome});
  return r;
}

}  // namespace tern::doctor

#include "doctor/rtt_stats.hpp"

#include <algorithm>

namespace tern::doctor {

double RttStats::loss_percent() const {
  if (sent == 0) return 0.0;
  return 100.0 * static_cast<double>(lost()) / static_cast<double>(sent);
}

RttStats compute_rtt_stats(const std::vector<std::optional<Duration>>& rtts) {
  RttStats s;
  s.sent = rtts.size();
  Duration total{};
  Duration jitter_sum{};
  uint64_t jitter_pairs = 0;
  std::optional<Duration> previous;
  for (const auto& rtt : rtts) {
    if (!rtt) continue;
    if (s.received == 0) {
      s.min = s.max = *rtt;
    } else {
      s.min = std::min(s.min, *rtt);
      s.max = std::max(s.max, *rtt);
    }
    ++s.received;
    total += *rtt;
    if (previous) {
      jitter_sum += *rtt > *previous ? *rtt - *previous : *previous - *rtt;
      ++jitter_pairs;
    }
    previous = rtt;
  }
  if (s.received > 0) s.avg = total / static_cast<int64_t>(s.received);
  if (jitter_pairs > 0) s.jitter = jitter_sum / static_cast<int64_t>(jitter_pairs);
  return s;
}

}  // namespace tern::doctor

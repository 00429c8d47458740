// The bandwidth steps after the relayed round trip: the same probes through the same channel at
// 4x and 16x --rate, each for a quarter of --duration (at least 1 s). A relay that caps a
// session's bandwidth (coturn: max-bps) or the whole server's (bps-capacity) loses more the
// faster it is fed; a lossy link loses about the same share at every rate.
#include <algorithm>

#include <fmt/format.h>

#include "doctor/relay_probe.hpp"
#include "doctor/relay_run.hpp"
#include "io/clock.hpp"

namespace tern::doctor {
namespace {

constexpr unsigned kMaxStepRate = 10'000;
constexpr unsigned kStepFactor = 4;

// Sends probes at `rate` for `duration` and waits a little for the last echoes.
RateStep run_step(RelayRun& run, unsigned rate, Duration duration, uint64_t base) {
  const auto& o = run.options;
  const uint64_t count = std::max<uint64_t>(
      1, static_cast<uint64_t>(rate) * static_cast<uint64_t>(duration.count()) / 1'000'000'000);
  std::vector<bool> seen(count, false);
  RateStep step;
  step.rate_per_second = rate;
  run.on_data = [&](const Endpoint& from, Bytes data, Instant) {
    if (from != run.peer) return;
    auto p = read_probe(data);
    if (!p || p->kind != ProbeKind::kRtt || p->sequence < base || p->sequence - base >= count) {
      return;
    }
    if (seen[p->sequence - base]) return;
    seen[p->sequence - base] = true;
    ++step.received;
  };
  std::vector<uint8_t> buffer(core::kTurnSendHeadroom + o.size + core::kTurnSendTailroom);
  const Duration interval = std::chrono::nanoseconds(1'000'000'000 / std::max(1u, rate));
  Instant next = io::monotonic_now();
  bool broken = false;
  while (step.sent < count && !broken) {
    const Instant now = io::monotonic_now();
    while (step.sent < count && now >= next) {
      write_probe(Probe{ProbeKind::kRtt, base + step.sent, now},
                  MutableBytes(buffer.data() + core::kTurnSendHeadroom, o.size));
      auto s = run.client->send_to(run.peer, buffer, o.size, now);
      if (s.ok()) (void)run.session.send_from_client(run.server, s.message);
      ++step.sent;
      next += interval;
    }
    if (step.sent < count && !run.step(next)) broken = true;
  }
  const Instant until = io::monotonic_now() + std::chrono::seconds(1);
  while (!broken && step.received < step.sent && io::monotonic_now() < until) {
    if (!run.step(until)) break;
  }
  run.on_data = nullptr;
  return step;
}

}  // namespace

void run_rate_steps(RelayRun& run) {
  auto& r = run.result;
  const auto& o = run.options;
  if (o.rate_steps < 2 || !r.round_trip_figures) return;
  const auto& base = r.round_trip_figures->stats;
  r.rate_steps.push_back({o.rate, base.sent, base.received});
  const Duration each = std::max<Duration>(std::chrono::seconds(1), o.duration / 4);
  unsigned rate = o.rate;
  for (unsigned i = 1; i < o.rate_steps; ++i) {
    const unsigned next = std::min(kMaxStepRate, rate * kStepFactor);
    if (next == rate) break;
    rate = next;
    run.say(fmt::format("bandwidth: probes at {}/s for {} s", rate,
                        std::chrono::duration_cast<std::chrono::seconds>(each).count()));
    // Sequence numbers apart from the round trip's, so its stragglers do not count here.
    r.rate_steps.push_back(run_step(run, rate, each, uint64_t{i} << 40));
  }
}

}  // namespace tern::doctor

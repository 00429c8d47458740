// DPLPMTUD as timelines: a fake path with an MTU that carries or drops each probe, a fake
// clock, and the machine driven only through its verbs, as the device will drive it.
#include "core/pmtud.hpp"
#include "core/pmtud_reference.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <vector>

namespace tern::core {
namespace {

constexpr Instant kT0 = instant_from_ns(1'000'000'000'000);

Instant at(double seconds) {
  return kT0 + Duration(static_cast<int64_t>(seconds * 1e9));
}

double seconds_since_t0(Instant t) {
  return static_cast<double>((t - kT0).count()) / 1e9;
}

struct Change {
  double at;  // seconds since kT0
  MtuChanged change;
};

// A path that delivers every probe no larger than its MTU and answers it after one RTT.
// Whether a probe arrives is decided when it is sent, as on a real link.
class Sim {
 public:
  explicit Sim(size_t mtu, PmtudConfig config = {}) : pmtud(config), path_mtu(mtu) {}

  void start() {
    pmtud.start(now);
    drain();
  }

  // Runs the machine until `end`, stepping from event to event.
  void run_until(Instant end) {
    while (true) {
      std::optional<Instant> next = pmtud.poll_timeout();
      for (const auto& a : acks_) {
        if (!next || a.first < *next) next = a.first;
      }
      if (!next || *next > end) break;
      now = std::max(now, *next);
      deliver_acks();
      if (traffic) pmtud.on_data_sent();
      pmtud.handle_timeout(now);
      drain();
    }
    now = std::max(now, end);
  }
  void run_for(double seconds) { run_until(now + Duration(static_cast<int64_t>(seconds * 1e9))); }

  void packet_too_big(size_t mtu) {
    pmtud.on_packet_too_big(mtu, now);
    drain();
  }

  // Probe sizes sent in [from, to) seconds since kT0.
  std::vector<size_t> probes_between(double from, double to) const {
    std::vector<size_t> out;
    for (const auto& [t, size] : probes) {
      const double s = seconds_since_t0(t);
      if (s >= from && s < to) out.push_back(size);
    }
    return out;
  }

  Pmtud pmtud;
  size_t path_mtu;
  Duration rtt = std::chrono::milliseconds(20);
  bool traffic = true;  // data flows, so confirmation probes go out
  Instant now = kT0;
  std::vector<std::pair<Instant, size_t>> probes;
  std::vector<Change> changes;
  unsigned stale_acks = 0;

 private:
  void deliver_acks() {
    auto due = [&](const auto& a) { return a.first <= now; };
    std::vector<std::pair<Instant, size_t>> ready;
    std::copy_if(acks_.begin(), acks_.end(), std::back_inserter(ready), due);
    acks_.erase(std::remove_if(acks_.begin(), acks_.end(), due), acks_.end());
    for (const auto& a : ready) {
      if (!pmtud.on_probe_acked(a.second, now)) ++stale_acks;
      drain();
    }
  }
  void drain() {
    while (auto size = pmtud.poll_probe()) {
      probes.emplace_back(now, *size);
      if (*size <= path_mtu) acks_.emplace_back(now + rtt, *size);
    }
    while (auto e = pmtud.poll_event()) {
      changes.push_back({seconds_since_t0(now), std::get<MtuChanged>(*e)});
    }
  }

  std::vector<std::pair<Instant, size_t>> acks_;
};

TEST(Pmtud, StartsDisabledAtTheBaseAndSendsNothing) {
  Pmtud p;
  EXPECT_EQ(p.state(), PmtudState::kDisabled);
  EXPECT_EQ(p.current_mtu(), 1280u);
  EXPECT_FALSE(p.poll_timeout());
  EXPECT_FALSE(p.poll_probe());
  EXPECT_FALSE(p.poll_event());
  EXPECT_FALSE(p.on_probe_acked(1280, kT0));
  EXPECT_FALSE(p.on_packet_too_big(1300, kT0));
  EXPECT_FALSE(p.on_too_big_locally(1300, kT0));
  EXPECT_EQ(pmtud_state_name(p.state()), "disabled");
}

TEST(Pmtud, CleanPathSearchesUpTo1500InOneRttPerStep) {
  Sim s(1500);
  s.start();
  EXPECT_EQ(s.pmtud.state(), PmtudState::kBase);
  s.run_for(1);
  EXPECT_EQ(s.pmtud.state(), PmtudState::kSearchComplete);
  EXPECT_EQ(s.pmtud.current_mtu(), 1500u);
  EXPECT_EQ(s.probes_between(0, 1),
            (std::vector<size_t>{1280, 1400, 1420, 1440, 1460, 1480, 1492, 1500}));
  // Every step is reported; 1500 is reached after eight round trips.
  ASSERT_EQ(s.changes.size(), 7u);
  EXPECT_EQ(s.changes.front().change, (MtuChanged{1280, 1400}));
  EXPECT_EQ(s.changes.back().change, (MtuChanged{1492, 1500}));
  EXPECT_NEAR(s.changes.back().at, 0.160, 1e-9);
  EXPECT_EQ(s.stale_acks, 0u);
}

TEST(Pmtud, EventsCoalesceUntilPolled) {
  Pmtud p;
  p.start(kT0);
  for (size_t size : {1280, 1400, 1420}) {
    ASSERT_EQ(p.poll_probe(), size);
    ASSERT_TRUE(p.on_probe_acked(size, kT0));
  }
  auto e = p.poll_event();
  ASSERT_TRUE(e);
  EXPECT_EQ(std::get<MtuChanged>(*e), (MtuChanged{1280, 1420}));
  EXPECT_FALSE(p.poll_event());
  // Down and back up again between two polls is no change at all.
  p.disable();
  p.start(kT0);
  EXPECT_EQ(p.current_mtu(), 1280u);
  ASSERT_EQ(p.poll_probe(), 1280u);
  ASSERT_TRUE(p.on_probe_acked(1280, kT0));
  ASSERT_EQ(p.poll_probe(), 1400u);
  ASSERT_TRUE(p.on_probe_acked(1400, kT0));
  ASSERT_EQ(p.poll_probe(), 1420u);
  ASSERT_TRUE(p.on_probe_acked(1420, kT0));
  EXPECT_FALSE(p.poll_event());
}

TEST(Pmtud, StopsAt1400WhenLargerProbesAreLost) {
  Sim s(1400);
  s.start();
  s.run_for(10);
  EXPECT_EQ(s.pmtud.state(), PmtudState::kSearchComplete);
  EXPECT_EQ(s.pmtud.current_mtu(), 1400u);
  // 1420 is tried MAX_PROBES times one PROBE_TIMER apart, each loss followed by a check of
  // the size in use (data flows), then the search ends; nothing larger is ever sent.
  EXPECT_EQ(s.probes_between(0, 3.5),
            (std::vector<size_t>{1280, 1400, 1420, 1400, 1420, 1400, 1420, 1400}));
  auto all = s.probes_between(0, 10);
  EXPECT_EQ(*std::max_element(all.begin(), all.end()), 1420u);
  // The search is over 3 s after the last success (two round trips in).
  ASSERT_EQ(s.changes.size(), 1u);
  EXPECT_EQ(s.changes[0].change, (MtuChanged{1280, 1400}));
  // Afterwards only confirmation probes of 1400 follow, one per CONFIRMATION_TIMER.
  EXPECT_EQ(s.probes_between(3.5, 10), (std::vector<size_t>{1400, 1400, 1400}));
}

TEST(Pmtud, ShrinkingPathIsLeftWithinFiveSecondsByConfirmationProbes) {
  Sim s(1500);
  s.start();
  s.run_for(60);
  ASSERT_EQ(s.pmtud.current_mtu(), 1500u);
  const size_t changes_before = s.changes.size();

  s.path_mtu = 1280;  // a smaller link appears; ICMP is filtered
  const double shrink = 60;
  s.run_for(20);
  ASSERT_GT(s.changes.size(), changes_before);
  const Change& fall = s.changes[changes_before];
  EXPECT_EQ(fall.change, (MtuChanged{1500, 1280}));
  EXPECT_LE(fall.at - shrink, 5.0 + 0.021);  // CONFIRMATION_TIMER + MAX_PROBES * PROBE_TIMER
  // It searches again from the base, finds nothing larger and settles at 1280.
  EXPECT_EQ(s.pmtud.current_mtu(), 1280u);
  EXPECT_EQ(s.pmtud.state(), PmtudState::kSearchComplete);
  EXPECT_EQ(s.changes.size(), changes_before + 1);
}

TEST(Pmtud, ShrinkTo1400RecoversTo1400) {
  Sim s(1500);
  s.start();
  s.run_for(30);
  s.path_mtu = 1400;
  s.run_for(20);
  EXPECT_EQ(s.pmtud.current_mtu(), 1400u);
  EXPECT_EQ(s.pmtud.state(), PmtudState::kSearchComplete);
  // 1500 -> 1280 at detection, 1280 -> 1400 two round trips later.
  ASSERT_GE(s.changes.size(), 2u);
  const Change& down = s.changes[s.changes.size() - 2];
  const Change& up = s.changes.back();
  EXPECT_EQ(down.change, (MtuChanged{1500, 1280}));
  EXPECT_EQ(up.change, (MtuChanged{1280, 1400}));
  EXPECT_LE(down.at - 30, 5.021);
  EXPECT_NEAR(up.at - down.at, 0.040, 1e-9);
}

TEST(Pmtud, ShrinkDuringAFailingSearchStepIsLeftWithinFourSeconds) {
  // The path shrinks while a larger probe is failing. A lost search probe says nothing of the
  // size in use, so while data flows each one is followed by a probe of that size: its
  // MAX_PROBES losses (3 s) after the first lost search probe (1 s) are the black hole.
  PmtudConfig cfg;
  cfg.max_mtu = 9000;
  Sim s(1500, cfg);
  s.start();
  s.run_for(0.17);
  ASSERT_EQ(s.pmtud.current_mtu(), 1500u);
  ASSERT_EQ(s.pmtud.probed_size(), 2000u);
  s.path_mtu = 1280;
  s.run_for(10);
  ASSERT_FALSE(s.changes.empty());
  EXPECT_EQ(s.changes.back().change, (MtuChanged{1500, 1280}));
  EXPECT_GT(s.changes.back().at - 0.17, 3.0);
  EXPECT_LE(s.changes.back().at - 0.17, 4.0);
  // After the lost 2000, only the size in use until it is given up: no search probe between.
  const auto sent = s.probes_between(0.17, s.changes.back().at);
  EXPECT_EQ(sent, (std::vector<size_t>{1500, 1500, 1500}));
}

TEST(Pmtud, ShrinkAsTheRaiseTimerSearchesIsLeftWithinThreeSecondsWithTheDeviceTimers) {
  // The device's timers (CONFIRMATION_TIMER 1 s, MAX_PROBES 2) on a 1400 path: ten minutes on,
  // the raise timer probes 1420 and the path shrinks to 1280 at that moment. The size in use
  // is given up 3 s later (the lost 1420, then two lost 1400s), not after the failed step and
  // a confirmation round (5 s).
  PmtudConfig cfg;
  cfg.confirmation_timer = std::chrono::seconds(1);
  cfg.max_probes = 2;
  Sim s(1400, cfg);
  s.start();
  s.run_for(599);
  ASSERT_EQ(s.pmtud.current_mtu(), 1400u);
  ASSERT_EQ(s.pmtud.state(), PmtudState::kSearchComplete);
  s.run_for(10);  // past the raise timer
  double raise = -1;
  for (const auto& [t, size] : s.probes) {
    if (size == 1420 && seconds_since_t0(t) > 599) {
      raise = seconds_since_t0(t);
      break;
    }
  }
  ASSERT_GT(raise, 599);
  // Once more, the path shrinking just as that probe leaves.
  Sim again(1400, cfg);
  again.start();
  again.run_until(at(raise));
  ASSERT_EQ(again.pmtud.probed_size(), 1420u);
  again.path_mtu = 1280;
  again.run_for(10);
  ASSERT_FALSE(again.changes.empty());
  EXPECT_EQ(again.changes.back().change, (MtuChanged{1400, 1280}));
  EXPECT_LE(again.changes.back().at - raise, 3.0 + 1e-6);
}

TEST(Pmtud, SizeInUseCheckedBetweenLostSearchProbesWhileDataFlows) {
  // A path of 1450 below a 9000 interface: each candidate above it is lost MAX_PROBES times,
  // each loss followed by a probe of the size in use, answered at once; the search ends where
  // it would have without the checks, one round trip later per loss.
  PmtudConfig cfg;
  cfg.max_mtu = 9000;
  Sim s(1450, cfg);
  s.start();
  s.run_for(30);
  EXPECT_EQ(s.pmtud.current_mtu(), 1440u);
  EXPECT_EQ(s.pmtud.state(), PmtudState::kSearchComplete);
  const auto sent = s.probes_between(0, 30);
  ASSERT_GE(sent.size(), 11u);
  // 1280 1400 1420 1440 (acked), then 1460 lost, 1440 checked, 1460, 1440, 1460, 1440.
  EXPECT_EQ(std::vector<size_t>(sent.begin(), sent.begin() + 10),
            (std::vector<size_t>{1280, 1400, 1420, 1440, 1460, 1440, 1460, 1440, 1460, 1440}));

  // Idle: a lost search probe is sent again with no check in between.
  Sim idle(1450, cfg);
  idle.traffic = false;
  idle.start();
  idle.run_for(30);
  EXPECT_EQ(idle.pmtud.current_mtu(), 1440u);
  const auto quiet = idle.probes_between(0, 30);
  EXPECT_EQ(std::count(quiet.begin(), quiet.end(), 1460), 3);
  EXPECT_EQ(std::count(quiet.begin(), quiet.end(), 1440), 1);
}

TEST(Pmtud, ReprobesAfterTheRaiseTimerAndRisesWhenThePathGrew) {
  Sim s(1400);
  s.start();
  s.run_for(10);
  ASSERT_EQ(s.pmtud.current_mtu(), 1400u);
  // When the failed 1420 search ended: two round trips up, 3 s of lost 1420s, each loss
  // followed by a check of 1400 (a round trip).
  const double complete_at = 5 * 0.020 + 3.0;
  s.path_mtu = 1500;
  s.run_until(at(complete_at + 600 - 0.001));
  EXPECT_EQ(s.pmtud.current_mtu(), 1400u);
  // Until then only confirmations of the size in use went out.
  for (size_t size : s.probes_between(complete_at, complete_at + 600 - 0.001))
    ASSERT_EQ(size, 1400u);
  s.run_until(at(complete_at + 601));
  EXPECT_EQ(s.pmtud.current_mtu(), 1500u);
  EXPECT_EQ(s.changes.back().change, (MtuChanged{1492, 1500}));
  EXPECT_NEAR(s.changes.back().at, complete_at + 600 + 6 * 0.020, 0.003);
}

TEST(Pmtud, RaiseTimerWithoutGrowthKeepsTheMtu) {
  Sim s(1400);
  s.start();
  s.run_for(1300);
  EXPECT_EQ(s.pmtud.current_mtu(), 1400u);
  EXPECT_EQ(s.changes.size(), 1u);  // the 1420 re-probes failed quietly, twice
  auto probes = s.probes_between(600, 1300);
  EXPECT_EQ(std::count(probes.begin(), probes.end(), 1420u), 6);
}

TEST(Pmtud, PtbAboveTheCurrentSizeIsIgnored) {
  Sim s(1500);
  s.start();
  s.run_for(5);
  ASSERT_EQ(s.pmtud.current_mtu(), 1500u);
  for (size_t mtu : {1500, 1501, 9000}) {
    EXPECT_FALSE(s.pmtud.on_packet_too_big(mtu, s.now)) << mtu;
  }
  EXPECT_EQ(s.pmtud.current_mtu(), 1500u);
  EXPECT_FALSE(s.pmtud.poll_event());
}

TEST(Pmtud, PtbBelowTheCurrentSizeFallsToBaseThenProbesTheReportedSize) {
  Sim s(1500);
  s.start();
  s.run_for(5);
  s.path_mtu = 1450;
  const size_t before = s.probes.size();
  s.packet_too_big(1450);
  EXPECT_EQ(s.changes.back().change, (MtuChanged{1500, 1280}));
  s.run_for(5);
  EXPECT_EQ(s.pmtud.current_mtu(), 1450u);
  // Base, then exactly the reported size; nothing above it in this search.
  std::vector<size_t> after(s.probes.size() - before);
  std::transform(s.probes.begin() + static_cast<ptrdiff_t>(before), s.probes.end(), after.begin(),
                 [](const auto& p) { return p.second; });
  EXPECT_EQ(std::vector<size_t>(after.begin(), after.begin() + 2),
            (std::vector<size_t>{1280, 1450}));
  EXPECT_LE(*std::max_element(after.begin(), after.end()), 1450u);
}

TEST(Pmtud, PtbBelowTheBaseIsClampedToTheBase) {
  Sim s(1500);
  s.start();
  s.run_for(5);
  s.packet_too_big(576);  // forged or misconfigured: never go below the base
  EXPECT_EQ(s.pmtud.current_mtu(), 1280u);
  s.run_for(30);
  EXPECT_EQ(s.pmtud.current_mtu(), 1280u);
  for (const auto& [t, size] : s.probes)
    EXPECT_GE(size, 1280u);
  // At the base, a PTB changes nothing.
  EXPECT_FALSE(s.pmtud.on_packet_too_big(1000, s.now));
  EXPECT_FALSE(s.pmtud.on_packet_too_big(1280, s.now));
  // The raise timer forgets the PTB and finds 1500 again.
  s.run_for(600);
  EXPECT_EQ(s.pmtud.current_mtu(), 1500u);
}

TEST(Pmtud, PtbForTheProbeInFlightRedirectsTheSearch) {
  Sim s(1450);
  s.start();
  s.run_for(0.09);  // 1280, 1400, 1420, 1440 acked; 1460 in flight
  ASSERT_EQ(s.pmtud.probed_size(), 1460u);
  ASSERT_EQ(s.pmtud.current_mtu(), 1440u);
  s.packet_too_big(1450);
  EXPECT_EQ(s.pmtud.current_mtu(), 1440u);  // the size in use still holds
  EXPECT_EQ(s.pmtud.probed_size(), 1450u);
  s.run_for(0.5);
  // No three-second wait for 1460 to time out: 1450 is confirmed in one round trip.
  EXPECT_EQ(s.pmtud.current_mtu(), 1450u);
  EXPECT_EQ(s.pmtud.state(), PmtudState::kSearchComplete);
  // A PTB naming the size in use ends the search there.
  Sim t(1500);
  t.start();
  t.run_for(0.09);
  ASSERT_EQ(t.pmtud.probed_size(), 1460u);
  t.packet_too_big(1440);
  EXPECT_EQ(t.pmtud.state(), PmtudState::kSearchComplete);
  EXPECT_EQ(t.pmtud.current_mtu(), 1440u);
  // One at or above the probe is inconsistent and ignored.
  Sim u(1500);
  u.start();
  u.run_for(0.09);
  EXPECT_FALSE(u.pmtud.on_packet_too_big(1460, u.now));
  EXPECT_FALSE(u.pmtud.on_packet_too_big(1600, u.now));
  EXPECT_EQ(u.pmtud.probed_size(), 1460u);
}

TEST(Pmtud, JumboSearchTo9000) {
  PmtudConfig cfg;
  cfg.max_mtu = 9000;
  Sim s(9000, cfg);
  s.start();
  s.run_for(1);
  EXPECT_EQ(s.pmtud.current_mtu(), 9000u);
  EXPECT_EQ(s.probes_between(0, 1), (std::vector<size_t>{1280, 1400, 1420, 1440, 1460, 1480, 1492,
                                                         1500, 2000, 4000, 8000, 9000}));
  // A 1500 path behind a jumbo interface stops at 1500 after the 2000 probes fail.
  Sim t(1500, cfg);
  t.start();
  t.run_for(10);
  EXPECT_EQ(t.pmtud.current_mtu(), 1500u);
  EXPECT_EQ(t.pmtud.state(), PmtudState::kSearchComplete);
}

TEST(Pmtud, InterfaceMtuOutsideTheTableIsTheLastStep) {
  PmtudConfig cfg;
  cfg.max_mtu = 1450;
  Sim s(1500, cfg);
  s.start();
  s.run_for(1);
  EXPECT_EQ(s.probes_between(0, 1), (std::vector<size_t>{1280, 1400, 1420, 1440, 1450}));
  EXPECT_EQ(s.pmtud.current_mtu(), 1450u);
  // Max equal to the base: confirm the base, nothing to search.
  cfg.max_mtu = 1000;  // raised to the base
  Sim t(1500, cfg);
  EXPECT_EQ(t.pmtud.config().max_mtu, 1280u);
  t.start();
  t.run_for(1);
  EXPECT_EQ(t.probes_between(0, 1), (std::vector<size_t>{1280}));
  EXPECT_EQ(t.pmtud.state(), PmtudState::kSearchComplete);
}

TEST(Pmtud, UnreachableBaseIsAnErrorThatRetriesAndRecovers) {
  Sim s(1000);  // nothing of 1280 passes
  s.start();
  s.run_for(3.5);
  EXPECT_EQ(s.pmtud.state(), PmtudState::kError);
  EXPECT_EQ(pmtud_state_name(s.pmtud.state()), "error");
  EXPECT_EQ(s.pmtud.current_mtu(), 1280u);
  EXPECT_EQ(s.probes_between(0, 3.5), (std::vector<size_t>{1280, 1280, 1280}));
  // Retries: one round of MAX_PROBES base probes every CONFIRMATION_TIMER after a failed round.
  s.run_for(5);
  EXPECT_EQ(s.probes_between(3.5, 8.5), (std::vector<size_t>{1280, 1280, 1280}));
  s.path_mtu = 1500;
  s.run_for(10);
  EXPECT_EQ(s.pmtud.current_mtu(), 1500u);
  EXPECT_EQ(s.pmtud.state(), PmtudState::kSearchComplete);
}

TEST(Pmtud, IdlePathSendsNoConfirmationProbes) {
  Sim s(1500);
  s.traffic = false;
  s.start();
  s.run_for(100);
  EXPECT_EQ(s.probes_between(1, 100).size(), 0u);
  // Data flows again: confirmations resume within one CONFIRMATION_TIMER.
  s.traffic = true;
  s.run_for(2.1);
  EXPECT_EQ(s.probes_between(100, 102.1), (std::vector<size_t>{1500}));
  // With confirm_only_after_data off, idle paths are confirmed too.
  PmtudConfig cfg;
  cfg.confirm_only_after_data = false;
  Sim t(1500, cfg);
  t.traffic = false;
  t.start();
  t.run_for(10.5);
  EXPECT_EQ(t.probes_between(1, 10.5).size(), 5u);
}

TEST(Pmtud, StaleAndForeignAcksAreIgnored) {
  Pmtud p;
  p.start(kT0);
  ASSERT_EQ(p.poll_probe(), 1280u);
  EXPECT_FALSE(p.on_probe_acked(1400, kT0));  // no 1400 probe in flight
  EXPECT_EQ(p.state(), PmtudState::kBase);
  EXPECT_TRUE(p.on_probe_acked(1280, kT0));
  EXPECT_FALSE(p.on_probe_acked(1280, kT0));  // the same ack twice
  ASSERT_EQ(p.poll_probe(), 1400u);
  EXPECT_EQ(p.current_mtu(), 1280u);
}

TEST(Pmtud, ProbeTimerResendsUntilMaxProbes) {
  Pmtud p;
  p.start(kT0);
  ASSERT_EQ(p.poll_probe(), 1280u);
  EXPECT_EQ(p.poll_timeout(), at(1));
  p.handle_timeout(at(0.999));  // early: nothing
  EXPECT_FALSE(p.poll_probe());
  p.handle_timeout(at(1));
  EXPECT_EQ(p.poll_probe(), 1280u);
  EXPECT_EQ(p.poll_timeout(), at(2));
  // A late ack of an earlier copy still counts: it is the same size.
  EXPECT_TRUE(p.on_probe_acked(1280, at(1.5)));
  EXPECT_EQ(p.state(), PmtudState::kSearching);
}

TEST(Pmtud, DisableStopsEverything) {
  Sim s(1500);
  s.start();
  s.run_for(5);
  s.pmtud.disable();
  EXPECT_EQ(s.pmtud.state(), PmtudState::kDisabled);
  EXPECT_EQ(s.pmtud.current_mtu(), 1280u);
  EXPECT_FALSE(s.pmtud.poll_timeout());
  EXPECT_FALSE(s.pmtud.poll_probe());
  // start() again searches from scratch.
  s.start();
  s.run_for(1);
  EXPECT_EQ(s.pmtud.current_mtu(), 1500u);
}

using test::expected_mtu;

TEST(Pmtud, RandomPathsConvergeAndNeverStayTooLargeForLong) {
  std::mt19937 rng(4);
  const size_t maxes[] = {1500, 1450, 9000, 9001};
  for (int round = 0; round < 40; ++round) {
    PmtudConfig cfg;
    cfg.max_mtu = maxes[rng() % 4];
    std::uniform_int_distribution<size_t> mtu_dist(1280, 9200);
    Sim s(mtu_dist(rng), cfg);
    s.start();
    double too_large_since = -1;
    double t = 0;
    for (int step = 0; step < 12; ++step) {
      // Hold the path for a while, checking every 50 ms that the MTU in use never exceeds
      // it for longer than a black hole takes to detect: CONFIRMATION_TIMER + 3 s, also when
      // a search step was failing as the path shrank (the size in use is checked after each
      // lost search probe).
      const double hold = (rng() % 2) ? 20.0 : 700.0;
      for (double end = t + hold; t < end; t += 0.05) {
        s.run_until(at(t));
        if (s.pmtud.current_mtu() > s.path_mtu) {
          if (too_large_since < 0) too_large_since = t;
          ASSERT_LE(t - too_large_since, 5.1) << "round " << round << " path " << s.path_mtu;
        } else {
          too_large_since = -1;
        }
        ASSERT_GE(s.pmtud.current_mtu(), cfg.base_mtu);
        ASSERT_LE(s.pmtud.current_mtu(), cfg.max_mtu);
      }
      // After a long hold (past a raise) the search has found exactly the reference size.
      if (hold > 600) {
        ASSERT_EQ(s.pmtud.current_mtu(), expected_mtu(s.path_mtu, cfg))
            << "round " << round << " path " << s.path_mtu << " max " << cfg.max_mtu;
      } else {
        ASSERT_LE(s.pmtud.current_mtu(), std::max(expected_mtu(s.path_mtu, cfg), cfg.base_mtu))
            << "round " << round;
      }
      s.path_mtu = mtu_dist(rng);
    }
  }
}

}  // namespace
}  // namespace tern::core

// Local send errors (EMSGSIZE) as inputs to DPLPMTUD, with a fake clock: a refused probe is
// lost at once, refused data is a hint confirmed by probes, and the largest path MTU worth
// searching for comes from the host's interfaces.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <vector>

#include "core/pmtud.hpp"
#include "core/pmtud_reference.hpp"

namespace tern::core {
namespace {

constexpr Instant kT0 = instant_from_ns(1'000'000'000'000);

Instant at(double seconds) {
  return kT0 + Duration(static_cast<int64_t>(seconds * 1e9));
}

PmtudConfig jumbo_config() {
  PmtudConfig c;
  c.max_mtu = 9000;
  c.max_probes = 2;
  c.confirmation_timer = std::chrono::seconds(1);
  c.confirm_only_after_data = false;
  return c;
}

// Drives a Pmtud over a path that carries up to `path_mtu` and a host whose interface refuses
// anything above `local_mtu` (as a send with DF and IP_PMTUDISC_PROBE does): a refused probe
// is reported to the machine at once, a carried one is acked `rtt` later.
struct Host {
  Pmtud pmtud;
  size_t path_mtu;
  size_t local_mtu;
  Instant now = kT0;
  std::vector<size_t> sent;  // probes that left this host
  std::vector<size_t> refused;
  size_t lowest = 0;  // the smallest MTU in use since watch()

  Host(size_t path, size_t local, PmtudConfig c = jumbo_config())
      : pmtud(c), path_mtu(path), local_mtu(local) {}

  void send_probes() {
    note();
    while (auto p = pmtud.poll_probe()) {
      if (*p > local_mtu) {
        refused.push_back(*p);
        pmtud.on_too_big_locally(*p, now);
        note();
        continue;
      }
      sent.push_back(*p);
      if (*p <= path_mtu) pmtud.on_probe_acked(*p, now);  // an RTT of zero
      note();
    }
  }
  void note() { lowest = std::min(lowest, pmtud.current_mtu()); }
  void watch() {
    lowest = pmtud.current_mtu();
    sent.clear();
    refused.clear();
  }
  // At `t` the interface carries up to `local` and the path beyond it `path`.
  void relink(double t, size_t local, size_t path) {
    now = at(t);
    local_mtu = local;
    path_mtu = path;
    watch();
  }
  // ... and a data packet of `refused_size`, sent before anything noticed, is refused.
  bool shrink(double t, size_t local, size_t path, size_t refused_size) {
    relink(t, local, path);
    const bool changed = pmtud.on_too_big_locally(refused_size, now);
    note();
    return changed;
  }
  // Steps through the timers until `end`.
  void run_until(Instant end) {
    send_probes();
    for (int guard = 0; guard < 10'000; ++guard) {
      auto next = pmtud.poll_timeout();
      if (!next || *next > end) break;
      now = *next;
      pmtud.handle_timeout(now);
      send_probes();
    }
    now = end;
  }
};

// A host whose search has run its course at t = 0.
Host settled(size_t path, size_t local) {
  Host h(path, local);
  h.pmtud.start(h.now);
  h.run_until(at(0));
  return h;
}

TEST(PmtudHint, JumboPathIsFoundUpToTheInterface) {
  Host h = settled(9000, 9000);
  EXPECT_EQ(h.pmtud.current_mtu(), 9000u);
  EXPECT_EQ(h.pmtud.state(), PmtudState::kSearchComplete);
  EXPECT_TRUE(h.refused.empty());
}

TEST(PmtudHint, RefusedProbeEndsTheSearchWithoutWaiting) {
  // A 9000 ceiling from the largest interface, but the route to the peer is a 1500 one: the
  // probes above 1500 fail locally and the search completes at once, not after probe timers.
  Host h = settled(9000, 1500);
  EXPECT_EQ(h.pmtud.current_mtu(), 1500u);
  EXPECT_EQ(h.pmtud.state(), PmtudState::kSearchComplete);
  EXPECT_EQ(h.refused, std::vector<size_t>{2000});
  EXPECT_EQ(h.now, at(0));
}

TEST(PmtudHint, RefusedProbeOfAnOddInterfaceMtu) {
  Host h = settled(9000, 4500);
  EXPECT_EQ(h.pmtud.current_mtu(), 4000u);  // the table's step below 4500
  EXPECT_EQ(h.refused, std::vector<size_t>{8000});
}

TEST(PmtudHint, RefusedBaseProbeIsAnError) {
  Host h = settled(9000, 1000);
  EXPECT_EQ(h.pmtud.state(), PmtudState::kError);
  EXPECT_EQ(h.pmtud.current_mtu(), 1280u);
}

TEST(PmtudHint, RefusedDataConfirmsDownwardAtOnce) {
  Host h = settled(9000, 9000);
  ASSERT_EQ(h.pmtud.current_mtu(), 9000u);
  (void)h.pmtud.poll_event();
  // The interface shrank to 1500 (ip link set mtu): the next data packet is refused.
  EXPECT_TRUE(h.shrink(5, 1500, 1500, 9000));
  // At once, before any timer: the step below the refused size, its probe due now.
  EXPECT_EQ(h.pmtud.current_mtu(), 8000u);
  EXPECT_EQ(h.pmtud.state(), PmtudState::kSearching);
  EXPECT_EQ(h.pmtud.probed_size(), 8000u);
  // Each refused step is followed by the next one down, without waiting; the first that
  // leaves is confirmed by its pong and nothing above it is tried again.
  h.run_until(at(5));
  EXPECT_EQ(h.pmtud.current_mtu(), 1500u);
  EXPECT_EQ(h.pmtud.state(), PmtudState::kSearchComplete);
  EXPECT_EQ(h.refused, (std::vector<size_t>{8000, 4000, 2000}));
  EXPECT_EQ(h.sent, std::vector<size_t>{1500});
  EXPECT_EQ(h.lowest, 1500u);  // never the base on the way
}

// The defect this guards against: one refused packet once the search had settled put every
// flow at the base (1280) for a probe round. The hinted size is in use while it is confirmed.
TEST(PmtudHint, RefusedDataKeepsTheHintedSizeWhileItIsConfirmed) {
  Host h = settled(1500, 1500);
  ASSERT_EQ(h.pmtud.current_mtu(), 1500u);
  EXPECT_TRUE(h.shrink(5, 1420, 1420, 1500));
  EXPECT_EQ(h.pmtud.current_mtu(), 1492u);
  EXPECT_EQ(h.pmtud.probed_size(), 1492u);
  h.run_until(at(5));
  EXPECT_EQ(h.refused, (std::vector<size_t>{1492, 1480, 1460, 1440}));
  EXPECT_EQ(h.sent, std::vector<size_t>{1420});
  EXPECT_EQ(h.pmtud.current_mtu(), 1420u);
  EXPECT_EQ(h.pmtud.state(), PmtudState::kSearchComplete);
  EXPECT_EQ(h.lowest, 1420u);
  // Smaller data refused later (a route with a smaller MTU): the same, from its size down.
  EXPECT_TRUE(h.shrink(6, 1300, 1300, 1400));
  EXPECT_EQ(h.pmtud.current_mtu(), 1280u);  // nothing in the table between: the base
  EXPECT_EQ(h.pmtud.state(), PmtudState::kBase);
  h.run_until(at(20));
  EXPECT_EQ(h.pmtud.current_mtu(), 1280u);
  EXPECT_EQ(h.pmtud.state(), PmtudState::kSearchComplete);
}

TEST(PmtudHint, HintedSizeFallsToTheBaseOnlyWhenItsProbesAreLost) {
  // The interface refuses 1500, and beyond it the path carries only 1400: the hinted 1492
  // leaves this host but its probes are lost.
  Host h = settled(1500, 1500);
  EXPECT_TRUE(h.shrink(5, 1492, 1400, 1500));
  h.run_until(at(6.9));
  EXPECT_EQ(h.pmtud.current_mtu(), 1492u);
  EXPECT_EQ(h.lowest, 1492u);
  EXPECT_EQ(h.sent, (std::vector<size_t>{1492, 1492}));
  // MAX_PROBES (2) lost, PROBE_TIMER (1 s) each: the base, then the search below 1492.
  h.run_until(at(7));
  EXPECT_EQ(h.lowest, 1280u);
  h.run_until(at(20));
  EXPECT_EQ(h.pmtud.current_mtu(), 1400u);
  EXPECT_EQ(h.pmtud.state(), PmtudState::kSearchComplete);
}

TEST(PmtudHint, HintIsValidatedNotTrusted) {
  // A refused 1500-byte datagram claims the path is smaller, but the hinted step's probes go
  // unanswered, then the base's (the path is down): the MTU ends at the base, in ERROR.
  Host h = settled(1500, 1500);
  ASSERT_EQ(h.pmtud.current_mtu(), 1500u);
  h.path_mtu = 0;  // nothing arrives any more
  EXPECT_TRUE(h.pmtud.on_too_big_locally(1500, at(1)));
  h.run_until(at(10));
  EXPECT_EQ(h.pmtud.current_mtu(), 1280u);
  EXPECT_EQ(h.pmtud.state(), PmtudState::kError);
}

TEST(PmtudHint, LargerThanInUseOrAtBaseIsIgnored) {
  Host h(1400, 1500);
  h.pmtud.start(h.now);
  h.run_until(at(10));
  ASSERT_EQ(h.pmtud.current_mtu(), 1400u);
  ASSERT_EQ(h.pmtud.state(), PmtudState::kSearchComplete);
  EXPECT_FALSE(h.pmtud.on_too_big_locally(1480, at(11)));  // a late probe: nothing learned
  EXPECT_EQ(h.pmtud.current_mtu(), 1400u);

  Pmtud disabled(jumbo_config());
  EXPECT_FALSE(disabled.on_too_big_locally(1500, kT0));
  Host base(1280, 1500);
  base.pmtud.start(base.now);  // BASE, probing 1280, nothing acked yet
  EXPECT_FALSE(base.pmtud.on_too_big_locally(1200, kT0));
  EXPECT_EQ(base.pmtud.state(), PmtudState::kBase);
}

TEST(PmtudHint, RefusedConfirmationProbeConfirmsDownward) {
  Host h = settled(9000, 9000);
  ASSERT_EQ(h.pmtud.current_mtu(), 9000u);
  h.relink(0, 4000, 4000);
  h.run_until(at(1.5));  // the confirmation probe of 9000 at 1 s is refused
  EXPECT_EQ(h.refused, (std::vector<size_t>{9000, 8000}));
  EXPECT_EQ(h.pmtud.current_mtu(), 4000u);
  EXPECT_EQ(h.pmtud.state(), PmtudState::kSearchComplete);
  EXPECT_EQ(h.lowest, 4000u);
}

using test::expected_mtu;

TEST(PmtudHint, RandomShrinksSettleAtOnceAndNeverBelowTheAnswer) {
  std::mt19937 rng(7);
  for (int round = 0; round < 50; ++round) {
    Host h = settled(9000, 9000);
    double t = 0;
    for (int step = 0; step < 6; ++step) {
      const size_t before = h.pmtud.current_mtu();
      const size_t mtu = 1280 + rng() % (h.local_mtu - 1280 + 1);  // the link shrinks (or not)
      const size_t expected = expected_mtu(mtu, h.pmtud.config());
      // A data packet of any size up to the one in use, refused if the link no longer takes it;
      // if it fits, the next confirmation probe (1 s) is refused instead.
      const size_t data = 1280 + rng() % (before - 1280 + 1);
      t += 5;
      if (data > mtu) {
        h.shrink(t, mtu, mtu, data);
      } else {
        h.relink(t, mtu, mtu);
      }
      h.run_until(at(t + 2));
      ASSERT_EQ(h.pmtud.current_mtu(), expected)
          << "round " << round << " link " << mtu << " data " << data << " was " << before;
      ASSERT_GE(h.lowest, expected) << "round " << round << " link " << mtu << " data " << data;
    }
  }
}

TEST(UnderlayMaxPathMtu, LargestUsableInterface) {
  std::vector<UnderlayLink> links{
      {65536, true, true, false},   // lo
      {1500, true, false, false},   // eth0
      {9000, true, false, false},   // a jumbo link
      {65535, true, false, true},   // the tunnel itself
      {16000, false, false, false}  // down
  };
  EXPECT_EQ(underlay_max_path_mtu(links), 9000u);
  links[2].up = false;
  EXPECT_EQ(underlay_max_path_mtu(links), 1500u);
  EXPECT_EQ(underlay_max_path_mtu({}, 1400), 1400u);
  EXPECT_EQ(underlay_max_path_mtu(std::vector<UnderlayLink>{{70000, true, false, false}}), 65535u);
}

}  // namespace
}  // namespace tern::core

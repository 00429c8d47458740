// Local send errors (EMSGSIZE) as inputs to DPLPMTUD, with a fake clock: a refused probe is
// lost at once, refused data is a hint confirmed by probes, and the largest path MTU worth
// searching for comes from the host's interfaces.
#include <gtest/gtest.h>

#include <vector>

#include "core/pmtud.hpp"

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

  Host(size_t path, size_t local, PmtudConfig c = jumbo_config())
      : pmtud(c), path_mtu(path), local_mtu(local) {}

  void send_probes() {
    while (auto p = pmtud.poll_probe()) {
      if (*p > local_mtu) {
        refused.push_back(*p);
        pmtud.on_too_big_locally(*p, now);
        continue;
      }
      sent.push_back(*p);
      if (*p <= path_mtu) pmtud.on_probe_acked(*p, now);  // an RTT of zero
    }
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

TEST(PmtudHint, JumboPathIsFoundUpToTheInterface) {
  Host h(9000, 9000);
  h.pmtud.start(h.now);
  h.run_until(at(0));
  EXPECT_EQ(h.pmtud.current_mtu(), 9000u);
  EXPECT_EQ(h.pmtud.state(), PmtudState::kSearchComplete);
  EXPECT_TRUE(h.refused.empty());
}

TEST(PmtudHint, RefusedProbeEndsTheSearchWithoutWaiting) {
  // A 9000 ceiling from the largest interface, but the route to the peer is a 1500 one: the
  // probes above 1500 fail locally and the search completes at once, not after probe timers.
  Host h(9000, 1500);
  h.pmtud.start(h.now);
  h.run_until(at(0));
  EXPECT_EQ(h.pmtud.current_mtu(), 1500u);
  EXPECT_EQ(h.pmtud.state(), PmtudState::kSearchComplete);
  EXPECT_EQ(h.refused, std::vector<size_t>{2000});
  EXPECT_EQ(h.now, at(0));
}

TEST(PmtudHint, RefusedProbeOfAnOddInterfaceMtu) {
  Host h(9000, 4500);
  h.pmtud.start(h.now);
  h.run_until(at(0));
  EXPECT_EQ(h.pmtud.current_mtu(), 4000u);  // the table's step below 4500
  EXPECT_EQ(h.refused, std::vector<size_t>{8000});
}

TEST(PmtudHint, RefusedBaseProbeIsAnError) {
  Host h(9000, 1000);
  h.pmtud.start(h.now);
  h.run_until(at(0));
  EXPECT_EQ(h.pmtud.state(), PmtudState::kError);
  EXPECT_EQ(h.pmtud.current_mtu(), 1280u);
}

TEST(PmtudHint, RefusedDataConfirmsDownwardAtOnce) {
  Host h(9000, 9000);
  h.pmtud.start(h.now);
  h.run_until(at(0));
  ASSERT_EQ(h.pmtud.current_mtu(), 9000u);
  (void)h.pmtud.poll_event();
  // The interface shrank to 1500 (ip link set mtu): the next data packet is refused.
  h.local_mtu = 1500;
  h.path_mtu = 1500;
  h.now = at(5);
  EXPECT_TRUE(h.pmtud.on_too_big_locally(9000, h.now));
  // At once: the base, with its probe due now, not after the confirmation timer.
  EXPECT_EQ(h.pmtud.current_mtu(), 1280u);
  EXPECT_EQ(h.pmtud.state(), PmtudState::kBase);
  ASSERT_TRUE(h.pmtud.probed_size());
  EXPECT_EQ(*h.pmtud.probed_size(), 1280u);
  // Each step upward is confirmed by a probe; the first above the interface is refused at
  // once and ends the search.
  h.sent.clear();
  h.run_until(at(5));
  EXPECT_EQ(h.pmtud.current_mtu(), 1500u);
  EXPECT_EQ(h.pmtud.state(), PmtudState::kSearchComplete);
  EXPECT_EQ(h.sent, (std::vector<size_t>{1280, 1400, 1420, 1440, 1460, 1480, 1492, 1500}));
  EXPECT_EQ(h.refused, std::vector<size_t>{2000});
}

TEST(PmtudHint, HintIsValidatedNotTrusted) {
  // A refused 1500-byte datagram claims the path is smaller, but the base probe goes
  // unanswered too (the path is down): the MTU stays at the base, it is not set from the hint.
  Host h(1500, 1500);
  h.pmtud.start(h.now);
  h.run_until(at(0));
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

TEST(PmtudHint, RefusedConfirmationProbeDropsToTheBase) {
  Host h(9000, 9000);
  h.pmtud.start(h.now);
  h.run_until(at(0));
  ASSERT_EQ(h.pmtud.current_mtu(), 9000u);
  h.local_mtu = 4000;
  h.path_mtu = 4000;
  h.run_until(at(1.5));  // the confirmation probe of 9000 at 1 s is refused
  EXPECT_EQ(h.refused, (std::vector<size_t>{9000, 8000}));
  EXPECT_EQ(h.pmtud.current_mtu(), 4000u);
  EXPECT_EQ(h.pmtud.state(), PmtudState::kSearchComplete);
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

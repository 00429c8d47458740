// The DF-ping search, sans I/O: which IP packet sizes to try, which came back, and the
// largest one that did. The path MTU is the largest answered size; a size counts as lost
// only after `tries` attempts each unanswered within the probe timeout, or at once when a
// "fragmentation needed" / Packet Too Big names it or the local stack refuses it.
//
// Probes go out in rounds of several sizes at once, spread over the interval still open
// (largest answered, smallest lost), so each round cuts it by about probes_per_round + 1 and
// the search costs a few timeouts, not one per halving. Time is passed in; the runner
// (df_ping.hpp) or a test moves the packets.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string_view>
#include <vector>

#include "base/time.hpp"

namespace tern::doctor {

struct DfSearchConfig {
  size_t min_size = 68;    // the smallest size searched (IPv6: 1280, every link carries it)
  size_t max_size = 1500;  // the largest, usually the outgoing interface's MTU
  size_t reach_size = 0;   // a small size tried first to tell "no answer at all"; 0: none
  unsigned tries = 3;      // attempts before a size counts as lost
  Duration probe_timeout = std::chrono::seconds(1);  // until the first answer
  Duration min_timeout = std::chrono::milliseconds(200);
  Duration budget = std::chrono::seconds(8);  // the whole search
  size_t probes_per_round = 6;
};

struct DfProbe {
  uint16_t seq = 0;
  size_t size = 0;  // IP packet bytes
};

enum class SizeOutcome : uint8_t { kPending, kAnswered, kLost, kTooBig, kLocalLimit };
std::string_view size_outcome_name(SizeOutcome o);  // "answered", "lost", ...

// One size tried, as evidence for the report.
struct SizeRecord {
  size_t size = 0;
  unsigned attempts = 0;
  SizeOutcome outcome = SizeOutcome::kPending;
};

struct DfSearchResult {
  std::optional<size_t> largest_answered;  // nullopt: nothing came back
  std::optional<size_t> smallest_lost;     // the smallest size above it that never did
  bool exact = false;        // largest_answered is the path MTU to the byte (or max_size)
  bool out_of_time = false;  // the budget ran out first
  std::optional<uint32_t> too_big_mtu;  // the smallest MTU a "too big" error reported
  unsigned too_big_errors = 0;
  unsigned other_errors = 0;          // unreachable, time exceeded, ... about our probes
  std::optional<size_t> local_limit;  // the smallest size the local stack refused (EMSGSIZE)
  unsigned probes_sent = 0;
  unsigned replies = 0;
  std::optional<Duration> rtt_min;
  std::optional<Duration> rtt_max;
  Duration elapsed{};
  std::vector<SizeRecord> sizes;  // ascending

  bool reachable() const { return replies > 0; }
};

class DfSearch {
 public:
  DfSearch(const DfSearchConfig& config, Instant now);

  // The next probe to send now, or nullopt until the next round (see poll_timeout).
  std::optional<DfProbe> poll_transmit(Instant now);
  // The send failed: `too_big_locally` for EMSGSIZE (the local interface is smaller).
  void on_send_failed(uint16_t seq, bool too_big_locally, Instant now);
  // An answer to a probe; false when `seq` is not one the search sent (a stray reply).
  bool on_reply(uint16_t seq, Instant now);
  // An ICMP error about a probe; `too_big` with the MTU the router named.
  bool on_error(uint16_t seq, bool too_big, uint32_t mtu, Instant now);

  std::optional<Instant> poll_timeout() const;
  void handle_timeout(Instant now);

  bool done() const { return done_; }
  DfSearchResult result() const;
  // For the progress line: the interval still open.
  size_t low() const { return low_; }
  size_t high() const { return high_; }

 private:
  struct SizeState {
    unsigned attempts = 0;
    unsigned unanswered = 0;  // attempts that timed out or failed
    SizeOutcome outcome = SizeOutcome::kPending;
  };
  struct Probe {
    size_t size = 0;
    Instant sent{};
    bool resolved = false;  // answered, refused, or given up on
    bool answered = false;
  };

  void recompute();
  bool finished_search() const;
  void finish(Instant now, bool out_of_time);
  void settle(size_t size, SizeOutcome outcome);
  void start_round(Instant now);
  void end_round_if_idle(Instant now);
  void resolve_unanswered(uint16_t seq);
  Duration timeout() const;

  DfSearchConfig config_;
  Instant start_;
  std::map<size_t, SizeState> sizes_;
  std::map<uint16_t, Probe> probes_;  // every probe sent, so late answers still count
  std::vector<uint16_t> round_seqs_;  // the current round's probes
  std::deque<size_t> queue_;          // sizes of this round not yet sent
  std::optional<Instant> round_end_;
  uint16_t next_seq_ = 1;
  size_t low_ = 0;   // largest answered size (0: none)
  size_t high_ = 0;  // smallest lost size above low_ (max_size + 1: none)
  bool done_ = false;
  bool out_of_time_ = false;
  Instant finished_{};
  std::optional<uint32_t> too_big_mtu_;
  std::optional<size_t> local_limit_;
  unsigned too_big_errors_ = 0;
  unsigned other_errors_ = 0;
  unsigned probes_sent_ = 0;
  unsigned replies_ = 0;
  std::optional<Duration> rtt_min_;
  std::optional<Duration> rtt_max_;
};

}  // namespace tern::doctor

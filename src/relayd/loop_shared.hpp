// What the event loops of one `tern relay` share (docs/relay.md, "Threads"): each loop owns
// its clients, their allocations and relay sockets outright, so only this is common, each
// piece behind its own lock held for a few instructions and never on the data path: the
// allocation quotas (taken at Allocate), the relay port cursor (at a relay socket's bind),
// the TCP/TLS connection counts (at accept and close), the stop signal, and the counters
// each loop publishes once per wakeup for the metrics endpoint to sum.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string_view>
#include <vector>

#include "base/result.hpp"
#include "io/fd.hpp"
#include "relay/auth.hpp"
#include "relay/metrics.hpp"
#include "relay/quota.hpp"
#include "relayd/stream_server.hpp"

namespace tern::relayd {

// The quota ledger of every loop's core.
class SharedQuota final : public relay::AllocationQuota {
 public:
  SharedQuota(uint32_t total, uint32_t per_user) : ledger_(total, per_user) {}
  [[nodiscard]] std::optional<relay::QuotaRefusal> acquire(std::string_view user) override;
  void release(std::string_view user) override;
  uint32_t held() const;

 private:
  mutable std::mutex mu_;
  relay::LocalQuota ledger_;
};

// Relay ports are handed out in turn from a random start over all loops, so a port that was
// just released is the last to be reused whichever loop takes the next one.
class PortCursor {
 public:
  PortCursor(uint16_t port_min, uint16_t port_max, uint64_t seed);
  uint16_t next();  // the next port of the range to try
  uint32_t range() const { return range_; }

 private:
  std::mutex mu_;
  uint16_t port_min_;
  uint32_t range_;
  uint32_t offset_;
};

// One loop's counters as last published.
struct LoopStats {
  relay::RelayCounters relay;
  uint64_t relay_sockets = 0;
  uint64_t send_failures = 0;
  uint64_t truncated = 0;
  std::optional<StreamStats> tcp;
  std::optional<StreamStats> tls;

  LoopStats& operator+=(const LoopStats& o);
};

class StatsBoard {
 public:
  explicit StatsBoard(size_t loops) : slots_(loops) {}
  void publish(size_t loop, const LoopStats& stats);
  LoopStats sum() const;
  LoopStats at(size_t loop) const;  // one loop's, as last published

 private:
  struct Slot {
    mutable std::mutex mu;
    LoopStats stats;
  };
  std::vector<Slot> slots_;
};

// Written once when the relay stops; every loop polls it and, as it is never drained, every
// loop sees it readable.
class StopSignal {
 public:
  [[nodiscard]] static Result<StopSignal> create();
  void trigger();
  int fd() const { return fd_.get(); }

 private:
  explicit StopSignal(io::UniqueFd fd) : fd_(std::move(fd)) {}
  io::UniqueFd fd_;
};

struct LoopShared {
  LoopShared(size_t loops, const relay::RelayConfig& relay, uint16_t port_min, uint16_t port_max,
             uint64_t seed, StopSignal stop_signal)
      : quota(relay.max_allocations, relay.user_quota),
        ports(port_min, port_max, seed),
        stop(std::move(stop_signal)),
        stats(loops) {}

  SharedQuota quota;
  PortCursor ports;
  std::array<uint8_t, relay::kNonceKeySize> nonce_key{};  // one for all: nonces stay valid
  StopSignal stop;
  StatsBoard stats;
  std::atomic<size_t> tcp_open{0};  // connections at once over all loops
  std::atomic<size_t> tls_open{0};
};

}  // namespace tern::relayd

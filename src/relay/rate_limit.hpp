// Per-allocation rate limits: a token bucket in bytes per second and one in
// packets per second, refilled from the `now` each call passes in. A packet goes
// through only when both buckets hold enough; otherwise it is dropped and the
// caller counts it (rate_limited). A rate of 0 means no limit.
#pragma once

#include <cstddef>
#include <cstdint>

#include "base/time.hpp"

namespace tern::relay {

struct RateLimit {
  uint64_t bytes_per_second = 0;    // 0: unlimited
  uint64_t packets_per_second = 0;  // 0: unlimited
  // How much unused rate may accumulate: the bucket holds rate x burst.
  Duration burst = std::chrono::seconds(1);

  bool unlimited() const { return bytes_per_second == 0 && packets_per_second == 0; }
};

class TokenBucket {
 public:
  TokenBucket() = default;  // unlimited
  // Starts full. The capacity is at least `min_capacity`, so that one packet
  // larger than rate x burst can still pass once the bucket is full.
  TokenBucket(uint64_t rate_per_second, Duration burst, double min_capacity, Instant now);

  bool unlimited() const { return rate_ == 0; }
  // Refills for the time since the last call, then: whether `amount` is available.
  bool available(double amount, Instant now);
  // Takes `amount` (call after available() said yes).
  void take(double amount) { tokens_ -= amount; }
  double tokens() const { return tokens_; }

 private:
  double rate_ = 0;  // tokens per second
  double capacity_ = 0;
  double tokens_ = 0;
  Instant last_{};
};

class RateLimiter {
 public:
  RateLimiter() = default;
  RateLimiter(const RateLimit& limit, Instant now);

  // True, and the packet charged to both buckets, when it may pass.
  [[nodiscard]] bool allow(size_t bytes, Instant now);

 private:
  TokenBucket bytes_;
  TokenBucket packets_;
};

}  // namespace tern::relay

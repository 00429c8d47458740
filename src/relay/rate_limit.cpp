#include "relay/rate_limit.hpp"

#include <algorithm>

namespace tern::relay {

TokenBucket::TokenBucket(uint64_t rate_per_second, Duration burst, double min_capacity, Instant now)
    : rate_(static_cast<double>(rate_per_second)), last_(now) {
  const double seconds = std::chrono::duration<double>(burst).count();
  capacity_ = std::max(rate_ * seconds, min_capacity);
  tokens_ = capacity_;
}

bool TokenBucket::available(double amount, Instant now) {
  if (rate_ == 0) return true;
  // A clock that went backwards (it should not) refills nothing rather than draining.
  if (now > last_) {
    // ns x rate is exact in a double up to 2^53, so whole-token refills come out exact.
    const double elapsed_ns = static_cast<double>((now - last_).count());
    tokens_ = std::min(capacity_, tokens_ + elapsed_ns * rate_ / 1e9);
    last_ = now;
  }
  return tokens_ >= amount;
}

RateLimiter::RateLimiter(const RateLimit& limit, Instant now) {
  // The largest UDP payload: a bucket smaller than that would refuse such a packet forever.
  constexpr double kLargestDatagram = 65535;
  if (limit.bytes_per_second) {
    bytes_ = TokenBucket(limit.bytes_per_second, limit.burst, kLargestDatagram, now);
  }
  if (limit.packets_per_second) {
    packets_ = TokenBucket(limit.packets_per_second, limit.burst, 1, now);
  }
}

bool RateLimiter::allow(size_t bytes, Instant now) {
  const double b = static_cast<double>(bytes);
  if (!bytes_.available(b, now) || !packets_.available(1, now)) return false;
  if (!bytes_.unlimited()) bytes_.take(b);
  if (!packets_.unlimited()) packets_.take(1);
  return true;
}

}  // namespace tern::relay

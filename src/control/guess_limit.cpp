#include "control/guess_limit.hpp"

#include <algorithm>
#include <iterator>

namespace tern::control {
namespace {

// An IPv6 client usually holds a whole /64: count it as one.
IpAddress client_key(const IpAddress& a) {
  if (a.is_v4()) return a;
  return IpPrefix{a, 64}.masked().address;
}

}  // namespace

void GuessLimit::refill(Bucket& b, Instant now) const {
  if (now <= b.updated) return;
  const double earned =
      std::chrono::duration<double>(now - b.updated) / std::chrono::duration<double>(kRefill);
  b.tokens = std::min(kBurst, b.tokens + earned);
  b.updated = now;
}

bool GuessLimit::allow(const IpAddress& client, Instant now) {
  auto it = buckets_.find(client_key(client));
  if (it == buckets_.end()) return true;
  refill(it->second, now);
  return it->second.tokens >= 1;
}

void GuessLimit::failed(const IpAddress& client, Instant now) {
  const IpAddress key = client_key(client);
  auto it = buckets_.find(key);
  if (it == buckets_.end()) {
    make_room(now);
    it = buckets_.emplace(key, Bucket{kBurst, now}).first;
  }
  refill(it->second, now);
  it->second.tokens = std::max(0.0, it->second.tokens - 1);
}

void GuessLimit::make_room(Instant now) {
  if (buckets_.size() < kMaxClients) return;
  for (auto it = buckets_.begin(); it != buckets_.end();) {
    refill(it->second, now);
    it = it->second.tokens >= kBurst ? buckets_.erase(it) : std::next(it);
  }
  // Still full: everyone is guessing. Forget the one that failed longest ago.
  if (buckets_.size() >= kMaxClients) {
    auto oldest = std::min_element(buckets_.begin(), buckets_.end(), [](auto& a, auto& b) {
      return a.second.updated < b.second.updated;
    });
    buckets_.erase(oldest);
  }
}

}  // namespace tern::control

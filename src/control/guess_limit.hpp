// Rate limit on guessing secrets (setup keys, admin tokens): each client address has a
// bucket of kBurst failures that refills one per kRefill; with the bucket empty, further
// attempts are refused (429) without being checked. Only failures spend, so an agent with
// a good key is never slowed. Bounded memory: at most kMaxClients addresses are tracked,
// and full buckets are forgotten first. An IPv6 client counts by its /64.
#pragma once

#include <cstddef>
#include <map>

#include "base/ip.hpp"
#include "base/time.hpp"

namespace tern::control {

class GuessLimit {
 public:
  static constexpr double kBurst = 10;
  static constexpr Duration kRefill = std::chrono::seconds(6);
  static constexpr size_t kMaxClients = 4096;

  // False: refuse this attempt unchecked.
  [[nodiscard]] bool allow(const IpAddress& client, Instant now);
  // A wrong secret from `client`.
  void failed(const IpAddress& client, Instant now);
  size_t tracked() const { return buckets_.size(); }

 private:
  struct Bucket {
    double tokens = kBurst;
    Instant updated{};
  };
  void refill(Bucket& b, Instant now) const;
  void make_room(Instant now);

  std::map<IpAddress, Bucket> buckets_;
};

}  // namespace tern::control

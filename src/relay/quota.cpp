#include "relay/quota.hpp"

namespace tern::relay {

std::optional<QuotaRefusal> LocalQuota::acquire(std::string_view user) {
  if (held_ >= total_) return QuotaRefusal::kTotal;
  auto it = by_user_.find(user);
  if (per_user_ != 0 && it != by_user_.end() && it->second >= per_user_) {
    return QuotaRefusal::kUser;
  }
  if (it == by_user_.end()) it = by_user_.emplace(std::string(user), 0).first;
  ++it->second;
  ++held_;
  return std::nullopt;
}

void LocalQuota::release(std::string_view user) {
  auto it = by_user_.find(user);
  if (it == by_user_.end()) return;  // never acquired: nothing to give back
  if (--it->second == 0) by_user_.erase(it);
  --held_;
}

uint32_t LocalQuota::held_by(std::string_view user) const {
  auto it = by_user_.find(user);
  return it == by_user_.end() ? 0 : it->second;
}

}  // namespace tern::relay

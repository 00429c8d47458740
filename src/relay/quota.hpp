// Allocation quotas of the relay: in total and per user (docs/relay.md). An interface, so
// that several cores can count against one ledger (`tern relay` runs one core per event loop
// and the I/O layer shares a locked ledger between them) while the core itself stays free of
// threads and locks. LocalQuota is the plain ledger a single core uses by default.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace tern::relay {

enum class QuotaRefusal : uint8_t {
  kTotal,  // the relay holds its maximum of allocations
  kUser,   // this user holds its maximum
};

class AllocationQuota {
 public:
  virtual ~AllocationQuota() = default;
  // Counts one more allocation for `user` (the quota name: a REST user's name part), or
  // says which bound refuses it and counts nothing.
  [[nodiscard]] virtual std::optional<QuotaRefusal> acquire(std::string_view user) = 0;
  // One allocation of `user` ended.
  virtual void release(std::string_view user) = 0;
};

class LocalQuota final : public AllocationQuota {
 public:
  // per_user 0: only the total applies.
  LocalQuota(uint32_t total, uint32_t per_user) : total_(total), per_user_(per_user) {}

  [[nodiscard]] std::optional<QuotaRefusal> acquire(std::string_view user) override;
  void release(std::string_view user) override;

  uint32_t held() const { return held_; }
  uint32_t held_by(std::string_view user) const;

 private:
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  uint32_t total_;
  uint32_t per_user_;
  uint32_t held_ = 0;
  std::unordered_map<std::string, uint32_t, Hash, std::equal_to<>> by_user_;
};

}  // namespace tern::relay

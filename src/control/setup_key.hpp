// Setup keys: what admits a machine. One-off (one registration) or reusable
// (up to usage_limit, 0 for no limit), optionally expiring, revocable, and carrying
// tags that the peers they admit inherit. The verdict is a pure function of the
// record and the time, so the 403 can say which rule refused.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"
#include "crypto/hmac_sha.hpp"

namespace tern::control {

struct SetupKeyRecord {
  int64_t id = 0;
  std::string name;
  std::string lookup;  // the clear handle, "tsk_" + 8 characters
  crypto::Sha256Digest hash{};
  bool reusable = false;
  uint32_t usage_limit = 1;  // 0: no limit (reusable keys only)
  uint32_t used = 0;
  std::optional<int64_t> expires_unix;
  bool revoked = false;
  std::vector<std::string> tags;
  int64_t created_unix = 0;
};

enum class KeyVerdict { kOk, kWrong, kExpired, kRevoked, kUsedUp };

// Revoked before expired before used up: the most permanent reason first.
[[nodiscard]] KeyVerdict check_setup_key(const SetupKeyRecord& key, int64_t now_unix);
// "wrong", "expired", "revoked", "used up" (as the 403 names them).
[[nodiscard]] std::string_view verdict_name(KeyVerdict v);

// A tag is 1-63 characters of [a-z0-9._:-]: it travels in maps and audit lines.
[[nodiscard]] bool valid_tag(std::string_view tag);
[[nodiscard]] Result<std::vector<std::string>> parse_tags(std::string_view comma_separated);
[[nodiscard]] std::string join_tags(const std::vector<std::string>& tags);

}  // namespace tern::control

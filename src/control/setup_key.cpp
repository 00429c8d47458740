#include "control/setup_key.hpp"

namespace tern::control {

KeyVerdict check_setup_key(const SetupKeyRecord& key, int64_t now_unix) {
  if (key.revoked) return KeyVerdict::kRevoked;
  if (key.expires_unix && now_unix >= *key.expires_unix) return KeyVerdict::kExpired;
  const uint32_t limit = key.reusable ? key.usage_limit : 1;
  if (limit != 0 && key.used >= limit) return KeyVerdict::kUsedUp;
  return KeyVerdict::kOk;
}

std::string_view verdict_name(KeyVerdict v) {
  switch (v) {
    case KeyVerdict::kOk:
      return "ok";
    case KeyVerdict::kWrong:
      return "wrong";
    case KeyVerdict::kExpired:
      return "expired";
    case KeyVerdict::kRevoked:
      return "revoked";
    case KeyVerdict::kUsedUp:
      return "used up";
  }
  return "wrong";
}

bool valid_tag(std::string_view tag) {
  if (tag.empty() || tag.size() > 63) return false;
  for (char c : tag) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
                    c == ':' || c == '-';
    if (!ok) return false;
  }
  return true;
}

Result<std::vector<std::string>> parse_tags(std::string_view text) {
  std::vector<std::string> tags;
  while (!text.empty()) {
    const size_t comma = text.find(',');
    const std::string_view tag = text.substr(0, comma);
    if (!valid_tag(tag)) {
      return fail("a tag is 1-63 characters of a-z 0-9 . _ : - (got \"" +
                  std::string(tag.substr(0, 64)) + "\")");
    }
    tags.emplace_back(tag);
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
    if (text.empty()) return fail("a tag list must not end with a comma");
  }
  return tags;
}

std::string join_tags(const std::vector<std::string>& tags) {
  std::string out;
  for (const auto& t : tags) {
    if (!out.empty()) out += ',';
    out += t;
  }
  return out;
}

}  // namespace tern::control

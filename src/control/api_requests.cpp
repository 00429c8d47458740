#include "control/api_requests.hpp"

#include <nlohmann/json.hpp>

#include "crypto/key_encoding.hpp"
#include "crypto/memory.hpp"
#include "crypto/x25519.hpp"

namespace tern::control {
namespace {

using nlohmann::json;

constexpr int64_t kMaxExpiresIn = int64_t{10} * 365 * 24 * 3600;

Result<json> parse_object(std::string_view body) {
  json j = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return fail("the body is not valid JSON");
  if (!j.is_object()) return fail("the body must be a JSON object");
  return j;
}

Result<std::optional<std::string>> optional_string(const json& j, const char* field,
                                                   size_t max_length) {
  auto it = j.find(field);
  if (it == j.end() || it->is_null()) return std::optional<std::string>();
  if (!it->is_string()) return fail(std::string("\"") + field + "\" must be a string");
  const auto& s = it->get_ref<const std::string&>();
  if (s.size() > max_length) {
    return fail(std::string("\"") + field + "\" is longer than " + std::to_string(max_length));
  }
  return std::optional<std::string>(s);
}

}  // namespace

bool valid_name(std::string_view name) {
  if (name.empty() || name.size() > kMaxNameLength) return false;
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_' || c == '.';
    if (!ok) return false;
  }
  return true;
}

Result<crypto::Key> parse_public_key(std::string_view base64) {
  if (base64.size() != crypto::kKeyBase64Length) {
    return fail("\"public_key\" must be 32 bytes in base64 (44 characters)");
  }
  auto key = crypto::key_from_base64(base64);
  if (!key) return fail("\"public_key\": " + key.error().message);
  auto probe = crypto::generate_private_key();
  const bool low_order = !crypto::dh(probe, *key);
  crypto::secure_wipe(probe);
  if (low_order) return fail("\"public_key\" is a low-order point: not a usable X25519 key");
  return *key;
}

Result<RegisterRequest> parse_register_request(std::string_view body) {
  auto j = parse_object(body);
  if (!j) return tl::unexpected(j.error());
  RegisterRequest r;
  auto setup_key = optional_string(*j, "setup_key", 256);
  if (!setup_key) return tl::unexpected(setup_key.error());
  if (!*setup_key || (*setup_key)->empty()) return fail("\"setup_key\" is missing");
  r.setup_key = **setup_key;
  auto key = optional_string(*j, "public_key", 256);
  if (!key) return tl::unexpected(key.error());
  if (!*key) return fail("\"public_key\" is missing");
  auto pub = parse_public_key(**key);
  if (!pub) return tl::unexpected(pub.error());
  r.hello.public_key = *pub;
  auto name = optional_string(*j, "name", kMaxNameLength);
  if (!name) return tl::unexpected(name.error());
  if (*name) {
    if (!valid_name(**name)) return fail("\"name\" must be 1-63 letters, digits, '-', '_' or '.'");
    r.hello.name = **name;
  }
  if (auto it = j->find("endpoints"); it != j->end() && !it->is_null()) {
    if (!it->is_array()) return fail("\"endpoints\" must be an array of \"ADDR:PORT\" strings");
    if (it->size() > kMaxEndpoints) {
      return fail("\"endpoints\" has more than " + std::to_string(kMaxEndpoints) + " entries");
    }
    for (const auto& e : *it) {
      if (!e.is_string()) return fail("\"endpoints\" must be an array of \"ADDR:PORT\" strings");
      auto ep = Endpoint::parse(e.get_ref<const std::string&>());
      if (!ep || ep->port == 0) {
        return fail("\"endpoints\"[" + std::to_string(r.hello.endpoints.size()) +
                    "] is not a numeric ADDR:PORT with a nonzero port");
      }
      r.hello.endpoints.push_back(*ep);
    }
  }
  return r;
}

Result<NewSetupKey> parse_key_request(std::string_view body, int64_t now_unix) {
  NewSetupKey k;
  if (body.empty()) return k;
  auto j = parse_object(body);
  if (!j) return tl::unexpected(j.error());
  auto name = optional_string(*j, "name", kMaxNameLength);
  if (!name) return tl::unexpected(name.error());
  if (*name && !(*name)->empty()) {
    if (!valid_name(**name)) return fail("\"name\" must be 1-63 letters, digits, '-', '_' or '.'");
    k.name = **name;
  }
  if (auto it = j->find("reusable"); it != j->end() && !it->is_null()) {
    if (!it->is_boolean()) return fail("\"reusable\" must be true or false");
    k.reusable = it->get<bool>();
  }
  k.usage_limit = k.reusable ? 0 : 1;
  if (auto it = j->find("usage_limit"); it != j->end() && !it->is_null()) {
    if (!it->is_number_unsigned() || it->get<uint64_t>() > 1'000'000) {
      return fail("\"usage_limit\" must be a whole number from 0 (no limit) to 1000000");
    }
    if (!k.reusable && it->get<uint64_t>() != 1) {
      return fail("a one-off key is used once: set \"reusable\": true for a usage limit");
    }
    k.usage_limit = static_cast<uint32_t>(it->get<uint64_t>());
  }
  if (auto it = j->find("expires_in"); it != j->end() && !it->is_null()) {
    if (!it->is_number_unsigned() || it->get<uint64_t>() == 0 ||
        it->get<uint64_t>() > static_cast<uint64_t>(kMaxExpiresIn)) {
      return fail("\"expires_in\" must be seconds from 1 to ten years");
    }
    k.expires_unix = now_unix + static_cast<int64_t>(it->get<uint64_t>());
  }
  if (auto it = j->find("tags"); it != j->end() && !it->is_null()) {
    if (!it->is_array() || it->size() > 32)
      return fail("\"tags\" must be an array of up to 32 tags");
    for (const auto& t : *it) {
      if (!t.is_string() || !valid_tag(t.get_ref<const std::string&>())) {
        return fail("a tag is 1-63 characters of a-z 0-9 . _ : -");
      }
      k.tags.push_back(t.get<std::string>());
    }
  }
  return k;
}

}  // namespace tern::control

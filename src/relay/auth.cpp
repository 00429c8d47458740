#include "relay/auth.hpp"

#include <sodium.h>

#include "base/decimal.hpp"
#include "crypto/hmac_sha.hpp"
#include "crypto/memory.hpp"
#include "crypto/sodium.hpp"
#include "wire/stun_attributes.hpp"
#include "wire/stun_integrity.hpp"

namespace tern::relay {
namespace {

constexpr std::string_view kNoncePrefix = "tern";
constexpr char kHex[] = "0123456789abcdef";

void put_hex(char* out, const uint8_t* in, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    out[2 * i] = kHex[in[i] >> 4];
    out[2 * i + 1] = kHex[in[i] & 0xF];
  }
}

std::optional<uint8_t> hex_digit(char c) {
  if (c >= '0' && c <= '9') return static_cast<uint8_t>(c - '0');
  if (c >= 'a' && c <= 'f') return static_cast<uint8_t>(c - 'a' + 10);
  return std::nullopt;
}

bool get_hex(std::string_view in, uint8_t* out) {
  for (size_t i = 0; i < in.size() / 2; ++i) {
    const auto hi = hex_digit(in[2 * i]);
    const auto lo = hex_digit(in[2 * i + 1]);
    if (!hi || !lo) return false;
    out[i] = static_cast<uint8_t>(*hi << 4 | *lo);
  }
  return true;
}

uint32_t seconds(Instant t) {
  return static_cast<uint32_t>(to_ns(t) / 1'000'000'000);
}

std::optional<std::string_view> text_attr(const wire::StunMessage& m, wire::StunAttr type,
                                          size_t max) {
  const auto a = m.find(type);
  if (!a) return std::nullopt;
  return wire::decode_text(a->value, max);
}

wire::StunCheck check_integrity(const wire::StunMessage& m, const crypto::Md5Digest& key,
                                bool sha256) {
  return sha256 ? wire::check_message_integrity_sha256(m, key)
                : wire::check_message_integrity(m, key);
}

}  // namespace

std::optional<RestUsername> parse_rest_username(std::string_view username) {
  const size_t colon = username.find(':');
  const auto digits = username.substr(0, colon);
  const auto v = parse_decimal(digits, uint64_t{INT64_MAX});
  if (!v) return std::nullopt;
  RestUsername r;
  r.expiry_unix = static_cast<int64_t>(*v);
  r.name = colon == std::string_view::npos ? username : username.substr(colon + 1);
  if (r.name.empty()) r.name = username;
  return r;
}

std::string rest_password(std::string_view secret, std::string_view username) {
  const auto mac = crypto::hmac_sha1(wire::as_bytes(secret), {wire::as_bytes(username)});
  (void)crypto::ensure_sodium();
  std::array<char, sodium_base64_ENCODED_LEN(crypto::kSha1Size, sodium_base64_VARIANT_ORIGINAL)>
      text{};
  sodium_bin2base64(text.data(), text.size(), mac.data(), mac.size(),
                    sodium_base64_VARIANT_ORIGINAL);
  return text.data();
}

Authenticator::Authenticator(const RelayConfig& config,
                             const std::array<uint8_t, kNonceKeySize>& nonce_key)
    : realm_(config.realm),
      secrets_(config.shared_secrets),
      nonce_lifetime_(config.nonce_lifetime),
      nonce_key_(nonce_key) {
  for (const auto& u : config.users) {
    users_[u.name] = wire::stun_long_term_key_md5(u.name, realm_, u.password);
  }
}

Authenticator::~Authenticator() {
  crypto::secure_wipe(nonce_key_);
  for (auto& [name, key] : users_)
    crypto::secure_wipe(key);
}

std::array<uint8_t, 8> Authenticator::nonce_mac(uint32_t issued, const IpAddress& client) const {
  const uint8_t t[4] = {static_cast<uint8_t>(issued >> 24), static_cast<uint8_t>(issued >> 16),
                        static_cast<uint8_t>(issued >> 8), static_cast<uint8_t>(issued)};
  const auto mac = crypto::hmac_sha1(nonce_key_, {Bytes(t), Bytes(client.data(), client.size())});
  std::array<uint8_t, 8> out{};
  std::copy(mac.begin(), mac.begin() + 8, out.begin());
  return out;
}

Nonce Authenticator::make_nonce(const IpAddress& client, Instant now) const {
  Nonce n;
  const uint32_t issued = seconds(now);
  const uint8_t t[4] = {static_cast<uint8_t>(issued >> 24), static_cast<uint8_t>(issued >> 16),
                        static_cast<uint8_t>(issued >> 8), static_cast<uint8_t>(issued)};
  std::copy(kNoncePrefix.begin(), kNoncePrefix.end(), n.text.begin());
  put_hex(n.text.data() + 4, t, 4);
  const auto mac = nonce_mac(issued, client);
  put_hex(n.text.data() + 12, mac.data(), mac.size());
  return n;
}

bool Authenticator::nonce_valid(std::string_view nonce, const IpAddress& client,
                                Instant now) const {
  if (nonce.size() != kNonceSize || !nonce.starts_with(kNoncePrefix)) return false;
  uint8_t t[4];
  std::array<uint8_t, 8> mac{};
  if (!get_hex(nonce.substr(4, 8), t) || !get_hex(nonce.substr(12, 16), mac.data())) return false;
  const uint32_t issued = uint32_t{t[0]} << 24 | uint32_t{t[1]} << 16 | uint32_t{t[2]} << 8 | t[3];
  if (!crypto::equal_ct(mac, nonce_mac(issued, client))) return false;
  const uint32_t current = seconds(now);
  const auto lifetime = std::chrono::duration_cast<std::chrono::seconds>(nonce_lifetime_).count();
  return issued <= current && int64_t{current - issued} < lifetime;
}

AuthResult Authenticator::check(const wire::StunMessage& m, const IpAddress& client, Instant now,
                                int64_t unix_now) const {
  AuthResult r;
  const bool has_sha256 = m.integrity_sha256_offset().has_value();
  if (!has_sha256 && !m.integrity_offset()) {
    r.verdict = AuthVerdict::kChallenge;
    return r;
  }
  r.sha256 = has_sha256;
  const auto username = text_attr(m, wire::StunAttr::kUsername, wire::kStunMaxUsername);
  const auto realm = text_attr(m, wire::StunAttr::kRealm, wire::kStunMaxText);
  const auto nonce = text_attr(m, wire::StunAttr::kNonce, wire::kStunMaxText);
  if (!username || !realm || !nonce || username->empty()) {
    r.verdict = AuthVerdict::kBadRequest;
    return r;
  }
  r.verdict = AuthVerdict::kFailed;
  if (*realm != realm_) return r;

  std::optional<RestUsername> rest;
  if (const auto it = users_.find(*username); it != users_.end()) {
    if (check_integrity(m, it->second, r.sha256) != wire::StunCheck::kValid) return r;
    r.key = it->second;
    r.quota_user = *username;
  } else {
    rest = secrets_.empty() ? std::nullopt : parse_rest_username(*username);
    if (!rest) return r;
    bool matched = false;
    for (const auto& secret : secrets_) {
      const auto password = rest_password(secret, *username);
      const auto key = wire::stun_long_term_key_md5(*username, realm_, password);
      if (check_integrity(m, key, r.sha256) == wire::StunCheck::kValid) {
        r.key = key;
        matched = true;
        break;
      }
    }
    if (!matched) return r;
    r.quota_user = rest->name;
  }
  r.username = *username;
  // RFC 8489 §9.2.4 checks the nonce only after the integrity, so only a client
  // that knows the password learns that its nonce went stale.
  if (!nonce_valid(*nonce, client, now)) {
    r.verdict = AuthVerdict::kStaleNonce;
  } else if (rest && rest->expiry_unix < unix_now) {
    r.verdict = AuthVerdict::kExpired;
  } else {
    r.verdict = AuthVerdict::kOk;
  }
  return r;
}

}  // namespace tern::relay

#include "core/turn_credentials.hpp"

#include <sodium.h>

#include <algorithm>
#include <array>

#include "base/decimal.hpp"
#include "crypto/hmac_sha.hpp"
#include "crypto/memory.hpp"
#include "crypto/sodium.hpp"
#include "wire/stun_attributes.hpp"

namespace tern::core {
namespace {

constexpr std::string_view kNonceCookie = "obMatJos2";
constexpr size_t kMaxAlgorithms = 8;

bool supported(uint16_t algorithm) {
  return algorithm == wire::kPasswordAlgorithmMd5 || algorithm == wire::kPasswordAlgorithmSha256;
}

}  // namespace

TurnCredentials rest_credentials(std::string_view secret, std::string_view name,
                                 int64_t expiry_unix) {
  TurnCredentials c;
  c.username = std::to_string(expiry_unix);
  c.username += ':';
  c.username += name;
  const auto mac = crypto::hmac_sha1(wire::as_bytes(secret), {wire::as_bytes(c.username)});
  (void)crypto::ensure_sodium();
  std::array<char, sodium_base64_ENCODED_LEN(crypto::kSha1Size, sodium_base64_VARIANT_ORIGINAL)>
      text{};
  sodium_bin2base64(text.data(), text.size(), mac.data(), mac.size(),
                    sodium_base64_VARIANT_ORIGINAL);
  c.password = text.data();
  return c;
}

std::optional<int64_t> rest_username_expiry(std::string_view username) {
  const auto digits = username.substr(0, username.find(':'));
  // Ten or more digits: a Unix time after 2001, not a user that happens to be a number.
  if (digits.size() < 10) return std::nullopt;
  const auto v = parse_decimal(digits, uint64_t{INT64_MAX});
  if (!v) return std::nullopt;
  return static_cast<int64_t>(*v);
}

std::optional<SecurityFeatures> parse_nonce_cookie(std::string_view nonce) {
  if (nonce.size() < kNonceCookie.size() + 4 || !nonce.starts_with(kNonceCookie)) {
    return std::nullopt;
  }
  (void)crypto::ensure_sodium();
  const auto encoded = nonce.substr(kNonceCookie.size(), 4);
  std::array<uint8_t, 3> bits{};
  size_t len = 0;
  if (sodium_base642bin(bits.data(), bits.size(), encoded.data(), encoded.size(), nullptr, &len,
                        nullptr, sodium_base64_VARIANT_ORIGINAL) != 0 ||
      len != bits.size()) {
    return std::nullopt;
  }
  return SecurityFeatures{(bits[0] & 0x80) != 0, (bits[0] & 0x40) != 0};
}

LongTermAuth::LongTermAuth(TurnCredentials credentials) : credentials_(std::move(credentials)) {}

LongTermAuth::~LongTermAuth() {
  crypto::secure_wipe(key_);
}

Status LongTermAuth::learn(const wire::StunMessage& challenge) {
  const auto realm_attr = challenge.find(wire::StunAttr::kRealm);
  const auto nonce_attr = challenge.find(wire::StunAttr::kNonce);
  std::optional<std::string_view> realm, nonce;
  if (realm_attr) realm = wire::decode_text(realm_attr->value, wire::kStunMaxText);
  if (nonce_attr) nonce = wire::decode_text(nonce_attr->value, wire::kStunMaxText);
  if (!realm || !nonce || nonce->empty()) {
    return fail(
        "the server's challenge has no usable REALM and NONCE, so no long-term credentials can "
        "answer it: the server is not a TURN server with long-term credentials (RFC 8489 §9.2), "
        "or something between rewrites its messages");
  }

  uint16_t algorithm = wire::kPasswordAlgorithmMd5;
  bool sha256_integrity = false;
  bool userhash = false;
  std::vector<uint8_t> algorithms;
  if (const auto features = parse_nonce_cookie(*nonce)) {
    userhash = features->username_anonymity;
    // RFC 8489 numbers the feature bits from the top; its own sample (Appendix B.1)
    // sends the attribute with the bit clear, so the attribute alone counts too.
    const auto list = challenge.find(wire::StunAttr::kPasswordAlgorithms);
    if (features->password_algorithms || list) {
      if (!list) {
        return fail(
            "the server's nonce announces PASSWORD-ALGORITHMS but the attribute is missing: "
            "someone between tern and the server may be forcing a weaker algorithm (RFC 8489 "
            "§9.2.4 forbids answering); check the path to the server, or use turns:");
      }
      std::array<wire::PasswordAlgorithm, kMaxAlgorithms> entries{};
      const auto n = wire::decode_password_algorithms(list->value, entries);
      if (!n) return fail("the server sent a malformed PASSWORD-ALGORITHMS attribute");
      const auto shown = std::min(*n, entries.size());
      const auto* chosen = std::find_if(entries.begin(), entries.begin() + shown,
                                        [](const auto& e) { return supported(e.algorithm); });
      if (chosen == entries.begin() + shown) {
        return fail(
            "the server offers no password algorithm tern knows (MD5 or SHA-256) in "
            "PASSWORD-ALGORITHMS; enable one of them on the server");
      }
      algorithm = chosen->algorithm;
      sha256_integrity = true;
      algorithms.assign(list->value.begin(), list->value.end());
    }
  }

  realm_ = std::string(*realm);
  nonce_ = std::string(*nonce);
  algorithm_ = algorithm;
  sha256_integrity_ = sha256_integrity;
  userhash_ = userhash;
  algorithms_ = std::move(algorithms);
  crypto::secure_wipe(key_);
  if (algorithm_ == wire::kPasswordAlgorithmSha256) {
    auto k = wire::stun_long_term_key_sha256(credentials_.username, realm_, credentials_.password);
    std::copy(k.begin(), k.end(), key_.begin());
    key_size_ = k.size();
    crypto::secure_wipe(k);
  } else {
    auto k = wire::stun_long_term_key_md5(credentials_.username, realm_, credentials_.password);
    std::copy(k.begin(), k.end(), key_.begin());
    key_size_ = k.size();
    crypto::secure_wipe(k);
  }
  ready_ = true;
  return {};
}

void LongTermAuth::add_credentials(wire::StunBuilder& b) const {
  if (userhash_) {
    b.add_userhash(wire::stun_userhash(credentials_.username, realm_));
  } else {
    b.add_text(wire::StunAttr::kUsername, credentials_.username);
  }
  b.add_text(wire::StunAttr::kRealm, realm_);
  b.add_text(wire::StunAttr::kNonce, nonce_);
  if (!algorithms_.empty()) {
    b.add(wire::StunAttr::kPasswordAlgorithms, algorithms_);
    b.add_password_algorithm(wire::PasswordAlgorithm{algorithm_, {}});
  }
}

void LongTermAuth::add_integrity(wire::StunBuilder& b) const {
  if (sha256_integrity_) {
    b.add_message_integrity_sha256(key());
  } else {
    b.add_message_integrity(key());
  }
}

wire::StunCheck LongTermAuth::check(const wire::StunMessage& m) const {
  if (m.integrity_sha256_offset()) return wire::check_message_integrity_sha256(m, key());
  return wire::check_message_integrity(m, key());
}

}  // namespace tern::core

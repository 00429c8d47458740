// Long-term credentials on the server side (RFC 8489 §9.2.4): static users
// (key = MD5(user:realm:password), computed once) and TURN REST credentials
// (username "expiry:name", password base64(HMAC-SHA1(secret, username)), as
// coturn's use-auth-secret), checked against MESSAGE-INTEGRITY or
// MESSAGE-INTEGRITY-SHA256. Nonces are stateless: "tern", the issue time in
// seconds and a MAC over it and the client's IP, so a nonce expires by itself
// after the nonce lifetime, is useless from another address, and an
// unauthenticated request costs the server no memory.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/bytes.hpp"
#include "base/ip.hpp"
#include "base/time.hpp"
#include "crypto/digest.hpp"
#include "relay/relay_config.hpp"
#include "wire/stun.hpp"

namespace tern::relay {

// "tern" + 8 hex digits of issue time + 16 hex digits of MAC.
inline constexpr size_t kNonceSize = 28;
inline constexpr size_t kNonceKeySize = 32;

struct Nonce {
  std::array<char, kNonceSize> text{};
  std::string_view view() const { return {text.data(), text.size()}; }
};

enum class AuthVerdict : uint8_t {
  kOk,
  kChallenge,   // no MESSAGE-INTEGRITY: 401 with REALM and a fresh NONCE
  kBadRequest,  // integrity without USERNAME, REALM or NONCE: 400
  kFailed,      // wrong realm, unknown user or wrong password: 401
  kStaleNonce,  // right password, nonce expired or not this client's: 438
  kExpired,     // right password, REST credentials past their expiry: 401
};

struct AuthResult {
  AuthVerdict verdict = AuthVerdict::kFailed;
  std::string_view username;    // kOk: a view into the request
  std::string_view quota_user;  // kOk: the user quotas count against (REST: the name part)
  crypto::Md5Digest key{};      // kOk, kStaleNonce, kExpired: signs the response
  bool sha256 = false;          // the request used MESSAGE-INTEGRITY-SHA256
};

class Authenticator {
 public:
  // `nonce_key` (kNonceKeySize random bytes) keys the nonce MAC.
  Authenticator(const RelayConfig& config, const std::array<uint8_t, kNonceKeySize>& nonce_key);
  ~Authenticator();
  Authenticator(const Authenticator&) = delete;
  Authenticator& operator=(const Authenticator&) = delete;

  const std::string& realm() const { return realm_; }

  [[nodiscard]] Nonce make_nonce(const IpAddress& client, Instant now) const;
  [[nodiscard]] bool nonce_valid(std::string_view nonce, const IpAddress& client,
                                 Instant now) const;

  // `unix_now`: wall-clock seconds, for REST expiry.
  [[nodiscard]] AuthResult check(const wire::StunMessage& request, const IpAddress& client,
                                 Instant now, int64_t unix_now) const;

 private:
  std::array<uint8_t, 8> nonce_mac(uint32_t issued, const IpAddress& client) const;

  std::string realm_;
  std::map<std::string, crypto::Md5Digest, std::less<>> users_;
  std::vector<std::string> secrets_;
  Duration nonce_lifetime_;
  std::array<uint8_t, kNonceKeySize> nonce_key_;
};

// TURN REST API: the expiry in a username "1735689600:name" (or just digits),
// and the name part the quota counts; nullopt for any other form.
struct RestUsername {
  int64_t expiry_unix = 0;
  std::string_view name;
};
[[nodiscard]] std::optional<RestUsername> parse_rest_username(std::string_view username);

// base64(HMAC-SHA1(secret, username)): the password that goes with a REST username.
[[nodiscard]] std::string rest_password(std::string_view secret, std::string_view username);

}  // namespace tern::relay

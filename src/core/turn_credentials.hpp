// Long-term credentials for a TURN server (RFC 8489 §9.2) and the TURN REST API
// scheme coturn's use-auth-secret implements (username "expiry:name", password
// base64(HMAC-SHA1(secret, username))). LongTermAuth keeps what a 401 or 438 taught
// the client (realm, nonce, password algorithm), derives the key, signs requests
// and checks the server's answers.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"
#include "wire/stun.hpp"
#include "wire/stun_builder.hpp"
#include "wire/stun_integrity.hpp"

namespace tern::core {

struct TurnCredentials {
  std::string username;
  std::string password;
};

// TURN REST API credentials valid until `expiry_unix` (seconds since the epoch).
[[nodiscard]] TurnCredentials rest_credentials(std::string_view secret, std::string_view name,
                                               int64_t expiry_unix);
// The expiry of a REST API username ("1735689600:name", or just "1735689600"), nullopt
// for a username of any other form (a static user).
[[nodiscard]] std::optional<int64_t> rest_username_expiry(std::string_view username);

// RFC 8489 §9.2: a nonce starting with "obMatJos2" carries 24 bits of "security
// features" in the next four base64 characters; bit 0 (the top bit) says the server
// supports PASSWORD-ALGORITHMS, bit 1 that it wants USERHASH instead of USERNAME.
struct SecurityFeatures {
  bool password_algorithms = false;
  bool username_anonymity = false;
};
[[nodiscard]] std::optional<SecurityFeatures> parse_nonce_cookie(std::string_view nonce);

class LongTermAuth {
 public:
  explicit LongTermAuth(TurnCredentials credentials);
  ~LongTermAuth();
  LongTermAuth(const LongTermAuth&) = default;
  LongTermAuth& operator=(const LongTermAuth&) = default;

  const TurnCredentials& credentials() const { return credentials_; }
  // True once a challenge has been learnt: requests can be signed.
  bool ready() const { return ready_; }
  const std::string& realm() const { return realm_; }
  const std::string& nonce() const { return nonce_; }
  uint16_t password_algorithm() const { return algorithm_; }
  // MESSAGE-INTEGRITY-SHA256 instead of MESSAGE-INTEGRITY: only with servers that
  // announce RFC 8489's password algorithms; older ones (coturn) know only SHA-1.
  bool uses_sha256_integrity() const { return sha256_integrity_; }

  // Learns realm, nonce and password algorithm from a 401 or 438 response. Fails,
  // with the cause, when the challenge cannot be answered: REALM or NONCE missing,
  // a nonce that announces PASSWORD-ALGORITHMS without the attribute (a downgrade,
  // §9.2.4), or no algorithm tern knows.
  [[nodiscard]] Status learn(const wire::StunMessage& challenge);

  // USERNAME (or USERHASH), REALM, NONCE and, when negotiated, PASSWORD-ALGORITHMS
  // and PASSWORD-ALGORITHM. Requires ready().
  void add_credentials(wire::StunBuilder& b) const;
  // MESSAGE-INTEGRITY or MESSAGE-INTEGRITY-SHA256; the last attribute before FINGERPRINT.
  void add_integrity(wire::StunBuilder& b) const;
  // The server's integrity on a response (the SHA-256 one when present).
  [[nodiscard]] wire::StunCheck check(const wire::StunMessage& m) const;

 private:
  Bytes key() const { return Bytes(key_.data(), key_size_); }

  TurnCredentials credentials_;
  bool ready_ = false;
  std::string realm_;
  std::string nonce_;
  uint16_t algorithm_ = wire::kPasswordAlgorithmMd5;
  bool sha256_integrity_ = false;
  bool userhash_ = false;
  std::vector<uint8_t> algorithms_;  // the server's PASSWORD-ALGORITHMS value, echoed back
  std::array<uint8_t, crypto::kSha256Size> key_{};
  size_t key_size_ = 0;
};

}  // namespace tern::core

// WireGuard's DoS defence (whitepaper §5.4.4, §5.4.7; kernel cookie.c). Every
// handshake message carries mac1 = MAC(HASH("mac1----" || receiver's public key),
// msg[..mac1]); without it a message is dropped before any DH. Under load a
// responder also demands mac2 = MAC(cookie, msg[..mac2]), where
// cookie = MAC(Rm, sender's IP and port) and Rm is a random secret rotated every
// 120 s; a message without a valid mac2 gets a cookie reply instead of a response,
// which proves the sender owns its address before the responder spends a DH on it.
#pragma once

#include <optional>

#include "base/bytes.hpp"
#include "base/ip.hpp"
#include "base/time.hpp"
#include "crypto/blake2s.hpp"
#include "crypto/key.hpp"
#include "noise/identity.hpp"
#include "wire/wireguard.hpp"

namespace tern::noise {

enum class MacCheck : uint8_t {
  kInvalidMac1,         // drop silently
  kValidMacNoCookie,    // mac1 good; mac2 missing or wrong (matters only under load)
  kValidMacWithCookie,  // mac1 and mac2 good
};

// Responder side: one per device, checks the macs of arriving initiations and
// responses and writes cookie replies.
class CookieChecker {
 public:
  explicit CookieChecker(const LocalIdentity& local);
  void set_local_identity(const LocalIdentity& local);

  // `msg` is a whole initiation or response; false for anything else.
  [[nodiscard]] bool check_mac1(Bytes msg) const;
  [[nodiscard]] bool check_mac2(Bytes msg, const Endpoint& source, Instant now);
  // mac1, and mac2 too only when `under_load` (as the kernel's cookie_validate_packet).
  [[nodiscard]] MacCheck check(Bytes msg, const Endpoint& source, bool under_load, Instant now);

  // Writes a 64-byte cookie reply for handshake message `msg` received from `source`
  // to out[0..64): receiver index = the message's sender index, encrypted cookie with
  // a random nonce and the message's mac1 as additional data. False if `msg` is not
  // an initiation or response or `out` is too small.
  [[nodiscard]] bool create_cookie_reply(Bytes msg, const Endpoint& source, Instant now,
                                         MutableBytes out);

 private:
  // MAC(Rm, IP bytes || port big-endian). Only we verify our cookies, so this
  // layout needs only to be self-consistent (the kernel hashes the raw sockaddr).
  crypto::Mac cookie_for(const Endpoint& source, Instant now);

  crypto::Key mac1_key_{};
  crypto::Key cookie_key_{};
  crypto::Key secret_{};
  std::optional<Instant> secret_birth_;
};

// Sender side: one per peer. Adds mac1 (and mac2 when we hold a fresh cookie from
// the peer) to every initiation or response we send, and takes the peer's cookie replies.
class MacGenerator {
 public:
  explicit MacGenerator(const crypto::Key& remote_static);

  // `msg` is a whole initiation or response we are about to send; its mac1 and mac2
  // fields are overwritten. mac2 is all zeros unless a cookie arrived less than
  // COOKIE_REFRESH_TIME ago. Remembers mac1 for a cookie reply. False for other sizes.
  bool add_macs(MutableBytes msg, Instant now);
  // Decrypts a cookie reply with the last mac1 we sent as additional data; false
  // (state unchanged) if we sent nothing since the last cookie or it does not open.
  [[nodiscard]] bool consume_cookie_reply(const wire::CookieReply& reply, Instant now);
  bool has_fresh_cookie(Instant now) const;

 private:
  crypto::Key mac1_key_{};
  crypto::Key cookie_key_{};
  crypto::Mac cookie_{};
  std::optional<Instant> cookie_birth_;
  crypto::Mac last_mac1_{};
  bool have_sent_mac1_ = false;
};

}  // namespace tern::noise

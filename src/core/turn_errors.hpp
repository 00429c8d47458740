// What went wrong with a TURN server, in words an operator can act on: every
// TurnError names the cause and the fix (RFC 8489 §14.8 and RFC 8656 §19 codes,
// timeouts per transport, credentials that are wrong or expired by clock skew).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/ip.hpp"
#include "base/time.hpp"
#include "core/stun_transaction.hpp"
#include "wire/stun.hpp"

namespace tern::core {

enum class TurnErrorKind : uint8_t {
  kWrongCredentials,           // 401 (or 441) after tern answered the challenge
  kCredentialsExpired,         // 401 to REST credentials whose expiry is near or past
  kBadChallenge,               // a 401 that no credentials can answer
  kStaleNonceLoop,             // 438 Stale Nonce again and again
  kForbidden,                  // 403
  kAllocationMismatch,         // 437
  kAddressFamilyNotSupported,  // 440
  kUnsupportedTransport,       // 442
  kPeerAddressFamilyMismatch,  // 443
  kQuotaReached,               // 486
  kInsufficientCapacity,       // 508
  kTryAlternate,               // 300
  kBadRequest,                 // 400
  kUnknownAttribute,           // 420
  kServerError,                // 500
  kTimeout,                    // no answer within the transaction timeout
  kProtocol,                   // an answer tern cannot use (a required attribute missing)
  kServerFault,                // it answered, but never usably, until the request timed out
  kOther,                      // any other error code
};
std::string_view turn_error_kind_name(TurnErrorKind k);  // "wrong_credentials", ...

struct TurnError {
  TurnErrorKind kind = TurnErrorKind::kOther;
  uint16_t code = 0;  // the STUN error code, 0 when there is none (timeout, protocol)
  std::string message;
};

// Who was asked what, for the message.
struct TurnErrorContext {
  std::string_view host;  // the server as the user named it
  uint16_t port = 3478;
  StunTransport transport = StunTransport::kUdp;
  wire::StunMethod method = wire::StunMethod::kAllocate;
  std::optional<Endpoint> peer;                       // CreatePermission and ChannelBind
  IpAddress::Family family = IpAddress::Family::kV4;  // of the relayed address asked for
  std::optional<Endpoint> alternate;                  // ALTERNATE-SERVER of a 300

  std::string host_text() const;  // the host, in brackets when it is an IPv6 address
  std::string server() const;     // "host:port", "[v6]:port"
};

// Answers to one request that the client could not use and discarded, waiting for a better one
// (RFC 8489 §6.3.1 and §6.3.4 let a client ignore what it cannot use). Counted so that a request
// that then times out says the server did answer, just not usably, instead of blaming a firewall.
struct TurnUnusableAnswers {
  unsigned malformed =
      0;  // ours by transaction ID but unreadable (length, attributes, FINGERPRINT)
  unsigned wrong_source = 0;  // from another address or port than the server's
  unsigned unexpected = 0;    // another method, a bad MESSAGE-INTEGRITY
  std::string last;           // what the last one was, for the message

  unsigned total() const { return malformed + wrong_source + unexpected; }
};

// An error response. `reason` is the server's phrase (untrusted: it is cleaned up).
[[nodiscard]] TurnError turn_error(const TurnErrorContext& ctx, uint16_t code,
                                   std::string_view reason);
[[nodiscard]] TurnError turn_timeout_error(const TurnErrorContext& ctx, Duration waited);
// A timeout after `unusable` answers (unusable.total() > 0): the server is there, and broken.
[[nodiscard]] TurnError turn_server_fault_error(const TurnErrorContext& ctx, Duration waited,
                                                const TurnUnusableAnswers& unusable);
// A 401 to a request that carried credentials. With a REST username (expiry known)
// and the local wall clock, an expiry near or past "now" is reported as clock skew.
[[nodiscard]] TurnError turn_credentials_error(const TurnErrorContext& ctx,
                                               std::string_view username, std::string_view realm,
                                               std::optional<int64_t> rest_expiry_unix,
                                               std::optional<int64_t> local_unix);
[[nodiscard]] TurnError turn_stale_nonce_error(const TurnErrorContext& ctx, unsigned times);
[[nodiscard]] TurnError turn_protocol_error(const TurnErrorContext& ctx, std::string_view what);

// REST credentials expiring this close to the local clock are "near": a 401 then
// points at clock skew rather than a wrong secret.
inline constexpr Duration kRestExpiryNear = std::chrono::minutes(5);

// Printable ASCII, at most 128 characters: for text a server sent.
[[nodiscard]] std::string clean_server_text(std::string_view text);
// "2025-01-01 00:00:00 UTC".
[[nodiscard]] std::string format_unix_utc(int64_t unix_seconds);

}  // namespace tern::core

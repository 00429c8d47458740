// Every place that discards a packet counts it under one of these reasons, so
// "where did my packets go" always has an answer (`tern status`, metrics).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace tern {

enum class DropReason : uint8_t {
  kMalformed,          // too short, bad type, bad length, unparsable inner IP header
  kUnknownPeer,        // handshake from a static key we do not know
  kUnknownIndex,       // receiver index matches no session
  kInvalidMac1,        // handshake message with a wrong mac1
  kInvalidMac2,        // under load: missing or wrong mac2 (a cookie reply was sent)
  kHandshakeFailed,    // decryption or DH failure inside the Noise handshake
  kHandshakeReplay,    // initiation with a TAI64N timestamp not newer than the last
  kHandshakeFlood,     // initiations from one peer faster than allowed
  kUnexpectedMessage,  // a response or cookie for no handshake in progress
  kDecryptFailed,      // transport data that fails authentication
  kReplay,             // counter already seen or behind the anti-replay window
  kKeyExpired,         // session past REJECT_AFTER_TIME / REJECT_AFTER_MESSAGES
  kNoRoute,            // inner destination matches no peer's allowed IPs
  kSourceNotAllowed,   // inner source outside the sending peer's allowed IPs
  kNoEndpoint,         // peer has no known endpoint to send to
  kQueueFull,          // staged queue (waiting for a handshake) is full
  kHandshakeTimeout,   // staged packets dropped: no handshake completed in REKEY_ATTEMPT_TIME
  kSendFailed,         // the UDP send failed
  kTunWriteFailed,     // writing to the TUN device failed
  kIntegrityFailed,    // a STUN response whose MESSAGE-INTEGRITY is wrong or missing
  kRelayDenied,        // the TURN relay cannot carry it: no allocation, or the peer was refused
  kRateLimited,        // beyond its rate: path probe pings per peer, PTBs written to the TUN
  kMtuExceeded,        // larger than the peer's MTU and neither a PTB nor fragments could be made
  kTooBigForPath,      // the UDP send failed with EMSGSIZE: larger than the outgoing interface
  kCount,
};

inline constexpr size_t kDropReasonCount = static_cast<size_t>(DropReason::kCount);

constexpr std::string_view drop_reason_name(DropReason r) {
  switch (r) {
    case DropReason::kMalformed:
      return "malformed";
    case DropReason::kUnknownPeer:
      return "unknown_peer";
    case DropReason::kUnknownIndex:
      return "unknown_index";
    case DropReason::kInvalidMac1:
      return "invalid_mac1";
    case DropReason::kInvalidMac2:
      return "invalid_mac2";
    case DropReason::kHandshakeFailed:
      return "handshake_failed";
    case DropReason::kHandshakeReplay:
      return "handshake_replay";
    case DropReason::kHandshakeFlood:
      return "handshake_flood";
    case DropReason::kUnexpectedMessage:
      return "unexpected_message";
    case DropReason::kDecryptFailed:
      return "decrypt_failed";
    case DropReason::kReplay:
      return "replay";
    case DropReason::kKeyExpired:
      return "key_expired";
    case DropReason::kNoRoute:
      return "no_route";
    case DropReason::kSourceNotAllowed:
      return "source_not_allowed";
    case DropReason::kNoEndpoint:
      return "no_endpoint";
    case DropReason::kQueueFull:
      return "queue_full";
    case DropReason::kHandshakeTimeout:
      return "handshake_timeout";
    case DropReason::kSendFailed:
      return "send_failed";
    case DropReason::kTunWriteFailed:
      return "tun_write_failed";
    case DropReason::kIntegrityFailed:
      return "integrity_failed";
    case DropReason::kRelayDenied:
      return "relay_denied";
    case DropReason::kRateLimited:
      return "rate_limited";
    case DropReason::kMtuExceeded:
      return "mtu_exceeded";
    case DropReason::kTooBigForPath:
      return "too_big_for_path";
    case DropReason::kCount:
      break;
  }
  return "unknown";
}

// Fixed-size counters, one per reason; cheap to keep per peer and per device.
struct DropCounters {
  std::array<uint64_t, kDropReasonCount> counts{};

  void add(DropReason r, uint64_t n = 1) { counts[static_cast<size_t>(r)] += n; }
  uint64_t get(DropReason r) const { return counts[static_cast<size_t>(r)]; }
  uint64_t total() const {
    uint64_t sum = 0;
    for (uint64_t c : counts)
      sum += c;
    return sum;
  }
};

}  // namespace tern

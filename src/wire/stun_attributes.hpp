// Typed values of the STUN and TURN attributes (RFC 8489 §14, RFC 8656 §18,
// RFC 5780 §7). Decoders take an attribute's value bytes (StunAttribute::value)
// and return nullopt when the value is malformed, so the caller can answer 400
// or drop; text and lists are views into the message. StunBuilder writes the
// same values (stun_builder.hpp).
//
// Address attributes (MAPPED-ADDRESS, OTHER-ADDRESS, RESPONSE-ORIGIN,
// ALTERNATE-SERVER), §14.1; the XOR forms (XOR-MAPPED-ADDRESS, XOR-PEER-ADDRESS,
// XOR-RELAYED-ADDRESS), §14.2, store port ^ (cookie >> 16) and address ^ cookie
// (IPv4) or address ^ (cookie || transaction id) (IPv6):
//    0                   1                   2                   3
//   |0 0 0 0 0 0 0 0|    Family     |           Port                |
//   |                 Address (32 bits or 128 bits)                 |
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "base/bytes.hpp"
#include "base/ip.hpp"
#include "wire/stun.hpp"

namespace tern::wire {

inline constexpr uint8_t kStunFamilyIpv4 = 0x01;
inline constexpr uint8_t kStunFamilyIpv6 = 0x02;
inline constexpr uint8_t kProtocolUdp = 17;  // REQUESTED-TRANSPORT (RFC 8656 §18.7)
inline constexpr uint8_t kProtocolTcp = 6;   // RFC 6062, for completeness

// Size limits of the text attributes, in bytes of UTF-8 (RFC 8489 §14.3-14.10).
inline constexpr size_t kStunMaxUsername = 508;
inline constexpr size_t kStunMaxText = 763;  // REALM, NONCE, SOFTWARE, reason phrase

// Values for PASSWORD-ALGORITHM(S) (RFC 8489 §18.5).
inline constexpr uint16_t kPasswordAlgorithmMd5 = 0x0001;
inline constexpr uint16_t kPasswordAlgorithmSha256 = 0x0002;

inline constexpr size_t kUserhashSize = 32;
using Userhash = std::array<uint8_t, kUserhashSize>;

// Error codes TURN clients and servers act on (RFC 8489 §14.8, RFC 8656 §19).
namespace stun_error {
inline constexpr uint16_t kTryAlternate = 300;
inline constexpr uint16_t kBadRequest = 400;
inline constexpr uint16_t kUnauthorized = 401;
inline constexpr uint16_t kForbidden = 403;
inline constexpr uint16_t kUnknownAttribute = 420;
inline constexpr uint16_t kAllocationMismatch = 437;
inline constexpr uint16_t kStaleNonce = 438;
inline constexpr uint16_t kAddressFamilyNotSupported = 440;
inline constexpr uint16_t kWrongCredentials = 441;
inline constexpr uint16_t kUnsupportedTransportProtocol = 442;
inline constexpr uint16_t kPeerAddressFamilyMismatch = 443;
inline constexpr uint16_t kAllocationQuotaReached = 486;
inline constexpr uint16_t kServerError = 500;
inline constexpr uint16_t kInsufficientCapacity = 508;
}  // namespace stun_error

//   |           Reserved, should be 0         |Class|     Number    |
//   |      Reason Phrase (variable)                                ..
struct StunErrorCode {
  uint16_t code = 0;  // 300..699
  std::string_view reason;
};

struct PasswordAlgorithm {
  uint16_t algorithm = 0;
  Bytes parameters;  // empty for MD5 and SHA-256
};

// A list of 16-bit values in network order (UNKNOWN-ATTRIBUTES).
class U16List {
 public:
  explicit U16List(Bytes raw) : raw_(raw) {}
  size_t size() const { return raw_.size() / 2; }
  uint16_t operator[](size_t i) const {
    return static_cast<uint16_t>((raw_[2 * i] << 8) | raw_[2 * i + 1]);
  }

 private:
  Bytes raw_;
};

[[nodiscard]] std::optional<Endpoint> decode_address(Bytes value);
[[nodiscard]] std::optional<Endpoint> decode_xor_address(Bytes value, const TransactionId& id);
// The encoded value: 8 bytes for IPv4, 20 for IPv6; returns the size written, 0 if out is short.
[[nodiscard]] size_t encode_address(const Endpoint& e, MutableBytes out);
[[nodiscard]] size_t encode_xor_address(const Endpoint& e, const TransactionId& id,
                                        MutableBytes out);
inline size_t address_value_size(const Endpoint& e) {
  return e.address.is_v4() ? 8 : 20;
}

// USERNAME (max 508 bytes) and REALM, NONCE, SOFTWARE (max 763 bytes).
[[nodiscard]] std::optional<std::string_view> decode_text(Bytes value, size_t max_size);
[[nodiscard]] inline std::string_view as_text(Bytes b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}
[[nodiscard]] inline Bytes as_bytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

[[nodiscard]] std::optional<StunErrorCode> decode_error_code(Bytes value);
[[nodiscard]] std::optional<U16List> decode_unknown_attributes(Bytes value);
// LIFETIME: seconds.
[[nodiscard]] std::optional<uint32_t> decode_u32(Bytes value);
// REQUESTED-TRANSPORT: the IP protocol number (17 = UDP).
[[nodiscard]] std::optional<uint8_t> decode_requested_transport(Bytes value);
// REQUESTED-ADDRESS-FAMILY (and ADDITIONAL-ADDRESS-FAMILY): 0x01 IPv4, 0x02 IPv6.
[[nodiscard]] std::optional<IpAddress::Family> decode_address_family(Bytes value);
// CHANNEL-NUMBER: the number, not range-checked here (see is_valid_channel in channel_data.hpp).
[[nodiscard]] std::optional<uint16_t> decode_channel_number(Bytes value);

// CHANGE-REQUEST (RFC 5780 §7.2): flag A (0x4) change IP, flag B (0x2) change port.
struct ChangeRequest {
  bool change_ip = false;
  bool change_port = false;
  bool operator==(const ChangeRequest&) const = default;
};
[[nodiscard]] std::optional<ChangeRequest> decode_change_request(Bytes value);

[[nodiscard]] std::optional<Userhash> decode_userhash(Bytes value);

// PASSWORD-ALGORITHMS (§14.11): entries of algorithm(16) length(16) params(padded).
// Writes up to out.size() entries and returns how many the value holds, or
// nullopt when the value is malformed.
[[nodiscard]] std::optional<size_t> decode_password_algorithms(Bytes value,
                                                               std::span<PasswordAlgorithm> out);
// PASSWORD-ALGORITHM (§14.12): exactly one entry.
[[nodiscard]] std::optional<PasswordAlgorithm> decode_password_algorithm(Bytes value);

}  // namespace tern::wire

// The four WireGuard messages (whitepaper §5.4), byte-exact: classify a datagram,
// parse it through bounds-checked reads, and serialise it. No crypto here: the
// encrypted fields are opaque bytes that noise/ fills and opens. All integers are
// little-endian. Every message starts with the type byte and three zero bytes.
//
// Initiation (type 1, 148 bytes)        Response (type 2, 92 bytes)
//   0  type(1) reserved(3)                0  type(1) reserved(3)
//   4  sender_index(4)                    4  sender_index(4)
//   8  unencrypted_ephemeral(32)          8  receiver_index(4)
//  40  encrypted_static(32+16)           12  unencrypted_ephemeral(32)
//  88  encrypted_timestamp(12+16)        44  encrypted_nothing(0+16)
// 116  mac1(16)                          60  mac1(16)
// 132  mac2(16)                          76  mac2(16)
//
// Cookie reply (type 3, 64 bytes)        Transport data (type 4, 32+ bytes)
//   0  type(1) reserved(3)                0  type(1) reserved(3)
//   4  receiver_index(4)                  4  receiver_index(4)
//   8  nonce(24)                          8  counter(8)
//  32  encrypted_cookie(16+16)           16  encrypted_packet(n+16)
#pragma once

#include <array>
#include <cstdint>
#include <optional>

#include "base/bytes.hpp"

namespace tern::wire {

enum class MessageType : uint8_t {
  kInitiation = 1,
  kResponse = 2,
  kCookieReply = 3,
  kTransport = 4,
};

inline constexpr uint8_t kMessageInitiation = 1;
inline constexpr uint8_t kMessageResponse = 2;
inline constexpr uint8_t kMessageCookieReply = 3;
inline constexpr uint8_t kMessageTransport = 4;

inline constexpr size_t kInitiationSize = 148;
inline constexpr size_t kResponseSize = 92;
inline constexpr size_t kCookieReplySize = 64;
inline constexpr size_t kTransportHeaderSize = 16;
inline constexpr size_t kAuthTagSize = 16;
inline constexpr size_t kTransportOverhead = kTransportHeaderSize + kAuthTagSize;  // 32
inline constexpr size_t kKeepaliveSize = kTransportOverhead;                       // empty payload
inline constexpr size_t kMacSize = 16;
inline constexpr size_t kCookieNonceSize = 24;

// mac1 covers every byte before it; mac2 every byte before it (including mac1).
// Both sit at the end of an initiation or response.
inline constexpr size_t kInitiationMac1Offset = kInitiationSize - 2 * kMacSize;  // 116
inline constexpr size_t kResponseMac1Offset = kResponseSize - 2 * kMacSize;      // 60

using Bytes32 = std::array<uint8_t, 32>;
using Mac16 = std::array<uint8_t, kMacSize>;

struct Initiation {
  uint32_t sender_index = 0;
  Bytes32 ephemeral{};
  std::array<uint8_t, 32 + kAuthTagSize> encrypted_static{};
  std::array<uint8_t, 12 + kAuthTagSize> encrypted_timestamp{};
  Mac16 mac1{};
  Mac16 mac2{};

  bool operator==(const Initiation&) const = default;
};

struct Response {
  uint32_t sender_index = 0;
  uint32_t receiver_index = 0;
  Bytes32 ephemeral{};
  std::array<uint8_t, kAuthTagSize> encrypted_nothing{};
  Mac16 mac1{};
  Mac16 mac2{};

  bool operator==(const Response&) const = default;
};

struct CookieReply {
  uint32_t receiver_index = 0;
  std::array<uint8_t, kCookieNonceSize> nonce{};
  std::array<uint8_t, kMacSize + kAuthTagSize> encrypted_cookie{};

  bool operator==(const CookieReply&) const = default;
};

// A view into a received transport message; `encrypted` (payload + tag, >= 16
// bytes) points into the datagram, which must outlive the view.
struct TransportView {
  uint32_t receiver_index = 0;
  uint64_t counter = 0;
  Bytes encrypted;
};

// The type of a datagram if it is a well-formed WireGuard message: type byte 1..4,
// three zero bytes, and the exact size (initiation, response, cookie reply) or at
// least 32 bytes (transport; its padding to 16 is not enforced on receive).
[[nodiscard]] std::optional<MessageType> classify(Bytes datagram);

// Parsers return nullopt unless classify() gives the matching type.
[[nodiscard]] std::optional<Initiation> parse_initiation(Bytes datagram);
[[nodiscard]] std::optional<Response> parse_response(Bytes datagram);
[[nodiscard]] std::optional<CookieReply> parse_cookie_reply(Bytes datagram);
[[nodiscard]] std::optional<TransportView> parse_transport(Bytes datagram);

// Serialisers write the full message and return its size, or 0 if `out` is too small.
[[nodiscard]] size_t serialize(const Initiation& m, MutableBytes out);
[[nodiscard]] size_t serialize(const Response& m, MutableBytes out);
[[nodiscard]] size_t serialize(const CookieReply& m, MutableBytes out);
// Writes the 16-byte transport header; the caller puts the ciphertext after it.
[[nodiscard]] size_t serialize_transport_header(uint32_t receiver_index, uint64_t counter,
                                                MutableBytes out);

// Reads the sender index of an initiation or response (offset 4); nullopt otherwise.
[[nodiscard]] std::optional<uint32_t> sender_index_of(Bytes handshake_message);
// Reads the receiver index of a response, cookie reply or transport message.
[[nodiscard]] std::optional<uint32_t> receiver_index_of(Bytes message);

}  // namespace tern::wire

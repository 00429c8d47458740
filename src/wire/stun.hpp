// STUN messages (RFC 8489) as TURN (RFC 8656) uses them: the header, the method
// and class bits, and a bounds-checked view of the attribute TLVs. Parsing never
// copies or allocates: a StunMessage points into the datagram, which must outlive
// it. Typed attribute values are in stun_attributes.hpp, building in
// stun_builder.hpp, MESSAGE-INTEGRITY and FINGERPRINT in stun_integrity.hpp.
//
// RFC 8489 §5, the header:
//    0                   1                   2                   3
//    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |0 0|     STUN Message Type     |         Message Length        |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |                         Magic Cookie                          |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |                     Transaction ID (96 bits)                  |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// The length counts the attributes only (not the 20-byte header) and is always
// a multiple of 4, since every attribute is padded to 4 (§14):
//   | Type (16) | Length (16, before padding) | Value ... | padding to 4 |
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include <tl/expected.hpp>

#include "base/bytes.hpp"

namespace tern::wire {

inline constexpr size_t kStunHeaderSize = 20;
inline constexpr uint32_t kStunMagicCookie = 0x2112A442;
inline constexpr size_t kStunTransactionIdSize = 12;
inline constexpr size_t kStunAttributeHeaderSize = 4;
// The length field is 16 bits: no STUN message is larger than this.
inline constexpr size_t kStunMaxMessageSize = kStunHeaderSize + 0xFFFF;

using TransactionId = std::array<uint8_t, kStunTransactionIdSize>;

// 12-bit method numbers (RFC 8489 §18.2, RFC 8656 §17).
enum class StunMethod : uint16_t {
  kBinding = 0x001,
  kAllocate = 0x003,
  kRefresh = 0x004,
  kSend = 0x006,  // indication only
  kData = 0x007,  // indication only
  kCreatePermission = 0x008,
  kChannelBind = 0x009,
};

enum class StunClass : uint8_t {
  kRequest = 0b00,
  kIndication = 0b01,
  kSuccess = 0b10,
  kError = 0b11,
};

// Attribute types. Below 0x8000 an attribute is comprehension-required: an agent
// that does not know it must reject the request (420 with UNKNOWN-ATTRIBUTES).
enum class StunAttr : uint16_t {
  kMappedAddress = 0x0001,
  kChangeRequest = 0x0003,  // RFC 5780
  kUsername = 0x0006,
  kMessageIntegrity = 0x0008,
  kErrorCode = 0x0009,
  kUnknownAttributes = 0x000A,
  kChannelNumber = 0x000C,  // RFC 8656
  kLifetime = 0x000D,
  kXorPeerAddress = 0x0012,
  kData = 0x0013,
  kRealm = 0x0014,
  kNonce = 0x0015,
  kXorRelayedAddress = 0x0016,
  kRequestedAddressFamily = 0x0017,
  kEvenPort = 0x0018,
  kRequestedTransport = 0x0019,
  kDontFragment = 0x001A,
  kMessageIntegritySha256 = 0x001C,
  kPasswordAlgorithm = 0x001D,
  kUserhash = 0x001E,
  kXorMappedAddress = 0x0020,
  kReservationToken = 0x0022,
  kPadding = 0x0026,       // RFC 5780
  kResponsePort = 0x0027,  // RFC 5780
  kAdditionalAddressFamily = 0x8000,
  kAddressErrorCode = 0x8001,
  kPasswordAlgorithms = 0x8002,
  kAlternateDomain = 0x8003,
  kIcmp = 0x8004,
  kSoftware = 0x8022,
  kAlternateServer = 0x8023,
  kFingerprint = 0x8028,
  kResponseOrigin = 0x802B,  // RFC 5780
  kOtherAddress = 0x802C,    // RFC 5780
};

constexpr uint16_t to_u16(StunAttr a) {
  return static_cast<uint16_t>(a);
}
constexpr bool is_comprehension_required(uint16_t attr_type) {
  return attr_type < 0x8000;
}
// Whether this codec knows the attribute (the list above); a server reports the
// comprehension-required ones it does not know in UNKNOWN-ATTRIBUTES.
bool is_known_stun_attribute(uint16_t attr_type);
std::string_view stun_attribute_name(uint16_t attr_type);  // "XOR-MAPPED-ADDRESS", or "unknown"
std::string_view stun_method_name(StunMethod m);           // "Allocate", or "unknown"

// The message type interleaves the class bits C1 C0 with the method bits (§5):
//   M11..M7 C1 M6..M4 C0 M3..M0
constexpr uint16_t stun_message_type(StunMethod method, StunClass cls) {
  const uint16_t m = static_cast<uint16_t>(method) & 0x0FFF;
  const uint16_t c = static_cast<uint16_t>(cls);
  return static_cast<uint16_t>((m & 0x000F) | ((m & 0x0070) << 1) | ((m & 0x0F80) << 2) |
                               ((c & 0b01) << 4) | ((c & 0b10) << 7));
}
constexpr StunMethod stun_method_of(uint16_t type) {
  return static_cast<StunMethod>((type & 0x000F) | ((type & 0x00E0) >> 1) | ((type & 0x3E00) >> 2));
}
constexpr StunClass stun_class_of(uint16_t type) {
  return static_cast<StunClass>(((type >> 4) & 0b01) | ((type >> 7) & 0b10));
}
// The same method with another class: the success or error reply to a request.
constexpr uint16_t stun_with_class(uint16_t type, StunClass cls) {
  return stun_message_type(stun_method_of(type), cls);
}

// Why a datagram is not a well-formed STUN message; the caller counts it as a drop.
enum class StunParseError : uint8_t {
  kTruncatedHeader,       // fewer than 20 bytes
  kNotStun,               // one of the two top bits is set
  kBadMagicCookie,        // bytes 4..7 are not 0x2112A442 (an RFC 3489 agent or not STUN)
  kBadLength,             // the length field disagrees with the bytes that follow the header
  kBadPadding,            // the length is not a multiple of 4: an attribute is not padded
  kAttributeOverrun,      // an attribute's value runs past the end of the message
  kBadIntegrityLength,    // MESSAGE-INTEGRITY not 20 bytes, -SHA256 not 16..32 in steps of 4
  kBadFingerprintLength,  // FINGERPRINT not 4 bytes
  kFingerprintNotLast,    // an attribute follows FINGERPRINT (§14.7)
};
std::string_view stun_parse_error_name(StunParseError e);

// The outcome of checking MESSAGE-INTEGRITY(-SHA256) or FINGERPRINT.
enum class StunCheck : uint8_t {
  kAbsent,   // the message has no such attribute
  kValid,    // present and correct
  kInvalid,  // present and wrong: wrong key, or the message was altered
};

// One attribute: its type, its value (without padding) and where its header
// starts in the message.
struct StunAttribute {
  uint16_t type = 0;
  Bytes value;
  size_t offset = 0;

  bool is(StunAttr a) const { return type == to_u16(a); }
};

class StunMessage;

// Walks the attributes in order. After MESSAGE-INTEGRITY only
// MESSAGE-INTEGRITY-SHA256 and FINGERPRINT are shown, and after
// MESSAGE-INTEGRITY-SHA256 only FINGERPRINT: RFC 8489 §14.5-14.6 say a receiver
// ignores the rest, since the MAC does not cover them.
class StunAttributeIterator {
 public:
  using value_type = StunAttribute;
  using difference_type = std::ptrdiff_t;

  StunAttributeIterator() = default;
  const StunAttribute& operator*() const { return current_; }
  const StunAttribute* operator->() const { return &current_; }
  StunAttributeIterator& operator++();
  StunAttributeIterator operator++(int) {
    auto copy = *this;
    ++*this;
    return copy;
  }
  bool operator==(const StunAttributeIterator& o) const { return pos_ == o.pos_; }

 private:
  friend class StunMessage;
  StunAttributeIterator(Bytes message, size_t pos);
  void load();  // reads the attribute at pos_, skipping ignored ones

  Bytes message_;
  size_t pos_ = 0;
  uint8_t seen_ = 0;  // bit 0: MESSAGE-INTEGRITY seen, bit 1: MESSAGE-INTEGRITY-SHA256 seen
  StunAttribute current_;
};

class StunMessage {
 public:
  using ParseResult = tl::expected<StunMessage, StunParseError>;

  // Checks the header and walks every attribute once; after success, every
  // attribute lies inside the message and the integrity/fingerprint attributes
  // have valid sizes and places.
  [[nodiscard]] static ParseResult parse(Bytes datagram);

  uint16_t type() const;
  StunMethod method() const { return stun_method_of(type()); }
  StunClass message_class() const { return stun_class_of(type()); }
  bool is(StunMethod m, StunClass c) const { return type() == stun_message_type(m, c); }
  bool is_request() const { return message_class() == StunClass::kRequest; }
  bool is_indication() const { return message_class() == StunClass::kIndication; }
  bool is_success() const { return message_class() == StunClass::kSuccess; }
  bool is_error() const { return message_class() == StunClass::kError; }
  TransactionId transaction_id() const;
  // The whole message, header included.
  Bytes bytes() const { return bytes_; }

  StunAttributeIterator begin() const;
  StunAttributeIterator end() const;
  // The first attribute of this type (RFC 8489 §14: only the first counts).
  std::optional<StunAttribute> find(StunAttr type) const { return find(to_u16(type)); }
  std::optional<StunAttribute> find(uint16_t type) const;

  // Offsets of the attribute headers, for integrity and fingerprint checks.
  std::optional<size_t> integrity_offset() const { return offset(integrity_); }
  std::optional<size_t> integrity_sha256_offset() const { return offset(integrity_sha256_); }
  std::optional<size_t> fingerprint_offset() const { return offset(fingerprint_); }

  // Comprehension-required attribute types this codec does not know, in order
  // of appearance (duplicates once). Writes up to out.size() of them and returns
  // how many there are in total.
  size_t unknown_comprehension_required(std::span<uint16_t> out) const;

 private:
  static constexpr uint32_t kNone = 0xFFFFFFFF;
  static std::optional<size_t> offset(uint32_t v) {
    return v == kNone ? std::nullopt : std::optional<size_t>(v);
  }

  Bytes bytes_;
  uint32_t integrity_ = kNone;
  uint32_t integrity_sha256_ = kNone;
  uint32_t fingerprint_ = kNone;
};

// Classifier for tern's shared UDP socket: the two top bits are zero, the magic
// cookie is at bytes 4..7, and the length is a multiple of 4 that matches the
// datagram. Never true for a WireGuard message (those are 32+ bytes with a zero
// length field here, so the length cannot match).
[[nodiscard]] bool is_stun(Bytes datagram);

}  // namespace tern::wire

#include "wire/stun.hpp"

#include <algorithm>

namespace tern::wire {
namespace {

constexpr uint8_t kSeenIntegrity = 1;
constexpr uint8_t kSeenIntegritySha256 = 2;

uint16_t read_u16(Bytes b, size_t at) {
  return static_cast<uint16_t>((b[at] << 8) | b[at + 1]);
}

uint32_t read_u32(Bytes b, size_t at) {
  return (uint32_t{b[at]} << 24) | (uint32_t{b[at + 1]} << 16) | (uint32_t{b[at + 2]} << 8) |
         uint32_t{b[at + 3]};
}

constexpr size_t padded(size_t n) {
  return (n + 3) & ~size_t{3};
}

// RFC 8489 §14.5-14.6: what a receiver ignores after the integrity attributes.
bool ignored(uint16_t type, uint8_t seen) {
  if (type == to_u16(StunAttr::kFingerprint)) return false;
  if (seen & kSeenIntegritySha256) return true;
  if (seen & kSeenIntegrity) return type != to_u16(StunAttr::kMessageIntegritySha256);
  return false;
}

uint8_t update_seen(uint16_t type, uint8_t seen) {
  if (type == to_u16(StunAttr::kMessageIntegrity)) return seen | kSeenIntegrity;
  if (type == to_u16(StunAttr::kMessageIntegritySha256)) return seen | kSeenIntegritySha256;
  return seen;
}

struct Name {
  StunAttr attr;
  std::string_view name;
};

constexpr Name kNames[] = {
    {StunAttr::kMappedAddress, "MAPPED-ADDRESS"},
    {StunAttr::kChangeRequest, "CHANGE-REQUEST"},
    {StunAttr::kUsername, "USERNAME"},
    {StunAttr::kMessageIntegrity, "MESSAGE-INTEGRITY"},
    {StunAttr::kErrorCode, "ERROR-CODE"},
    {StunAttr::kUnknownAttributes, "UNKNOWN-ATTRIBUTES"},
    {StunAttr::kChannelNumber, "CHANNEL-NUMBER"},
    {StunAttr::kLifetime, "LIFETIME"},
    {StunAttr::kXorPeerAddress, "XOR-PEER-ADDRESS"},
    {StunAttr::kData, "DATA"},
    {StunAttr::kRealm, "REALM"},
    {StunAttr::kNonce, "NONCE"},
    {StunAttr::kXorRelayedAddress, "XOR-RELAYED-ADDRESS"},
    {StunAttr::kRequestedAddressFamily, "REQUESTED-ADDRESS-FAMILY"},
    {StunAttr::kEvenPort, "EVEN-PORT"},
    {StunAttr::kRequestedTransport, "REQUESTED-TRANSPORT"},
    {StunAttr::kDontFragment, "DONT-FRAGMENT"},
    {StunAttr::kMessageIntegritySha256, "MESSAGE-INTEGRITY-SHA256"},
    {StunAttr::kPasswordAlgorithm, "PASSWORD-ALGORITHM"},
    {StunAttr::kUserhash, "USERHASH"},
    {StunAttr::kXorMappedAddress, "XOR-MAPPED-ADDRESS"},
    {StunAttr::kReservationToken, "RESERVATION-TOKEN"},
    {StunAttr::kPadding, "PADDING"},
    {StunAttr::kResponsePort, "RESPONSE-PORT"},
    {StunAttr::kAdditionalAddressFamily, "ADDITIONAL-ADDRESS-FAMILY"},
    {StunAttr::kAddressErrorCode, "ADDRESS-ERROR-CODE"},
    {StunAttr::kPasswordAlgorithms, "PASSWORD-ALGORITHMS"},
    {StunAttr::kAlternateDomain, "ALTERNATE-DOMAIN"},
    {StunAttr::kIcmp, "ICMP"},
    {StunAttr::kSoftware, "SOFTWARE"},
    {StunAttr::kAlternateServer, "ALTERNATE-SERVER"},
    {StunAttr::kFingerprint, "FINGERPRINT"},
    {StunAttr::kResponseOrigin, "RESPONSE-ORIGIN"},
    {StunAttr::kOtherAddress, "OTHER-ADDRESS"},
};

}  // namespace

bool is_known_stun_attribute(uint16_t attr_type) {
  return std::any_of(std::begin(kNames), std::end(kNames),
                     [&](const Name& n) { return to_u16(n.attr) == attr_type; });
}

std::string_view stun_attribute_name(uint16_t attr_type) {
  for (const Name& n : kNames) {
    if (to_u16(n.attr) == attr_type) return n.name;
  }
  return "unknown";
}

std::string_view stun_method_name(StunMethod m) {
  switch (m) {
    case StunMethod::kBinding:
      return "Binding";
    case StunMethod::kAllocate:
      return "Allocate";
    case StunMethod::kRefresh:
      return "Refresh";
    case StunMethod::kSend:
      return "Send";
    case StunMethod::kData:
      return "Data";
    case StunMethod::kCreatePermission:
      return "CreatePermission";
    case StunMethod::kChannelBind:
      return "ChannelBind";
  }
  return "unknown";
}

std::string_view stun_parse_error_name(StunParseError e) {
  switch (e) {
    case StunParseError::kTruncatedHeader:
      return "truncated_header";
    case StunParseError::kNotStun:
      return "not_stun";
    case StunParseError::kBadMagicCookie:
      return "bad_magic_cookie";
    case StunParseError::kBadLength:
      return "bad_length";
    case StunParseError::kBadPadding:
      return "bad_padding";
    case StunParseError::kAttributeOverrun:
      return "attribute_overrun";
    case StunParseError::kBadIntegrityLength:
      return "bad_integrity_length";
    case StunParseError::kBadFingerprintLength:
      return "bad_fingerprint_length";
    case StunParseError::kFingerprintNotLast:
      return "fingerprint_not_last";
  }
  return "unknown";
}

bool is_stun(Bytes d) {
  if (d.size() < kStunHeaderSize || (d[0] & 0xC0) != 0) return false;
  if (read_u32(d, 4) != kStunMagicCookie) return false;
  const size_t length = read_u16(d, 2);
  return length % 4 == 0 && kStunHeaderSize + length == d.size();
}

StunMessage::ParseResult StunMessage::parse(Bytes d) {
  if (d.size() < kStunHeaderSize) return tl::unexpected(StunParseError::kTruncatedHeader);
  if ((d[0] & 0xC0) != 0) return tl::unexpected(StunParseError::kNotStun);
  if (read_u32(d, 4) != kStunMagicCookie) return tl::unexpected(StunParseError::kBadMagicCookie);
  const size_t length = read_u16(d, 2);
  if (kStunHeaderSize + length != d.size()) return tl::unexpected(StunParseError::kBadLength);
  if (length % 4 != 0) return tl::unexpected(StunParseError::kBadPadding);

  StunMessage m;
  m.bytes_ = d;
  uint8_t seen = 0;
  size_t pos = kStunHeaderSize;
  while (pos < d.size()) {
    // The length is a multiple of 4 and so is pos: a whole attribute header fits.
    const uint16_t type = read_u16(d, pos);
    const size_t value_len = read_u16(d, pos + 2);
    const size_t value_at = pos + kStunAttributeHeaderSize;
    if (value_len > d.size() - value_at) return tl::unexpected(StunParseError::kAttributeOverrun);
    if (d.size() - value_at < padded(value_len)) return tl::unexpected(StunParseError::kBadPadding);
    if (m.fingerprint_ != kNone) return tl::unexpected(StunParseError::kFingerprintNotLast);

    if (!ignored(type, seen)) {
      const auto at = static_cast<uint32_t>(pos);
      if (type == to_u16(StunAttr::kMessageIntegrity)) {
        if (value_len != 20) return tl::unexpected(StunParseError::kBadIntegrityLength);
        m.integrity_ = at;
      } else if (type == to_u16(StunAttr::kMessageIntegritySha256)) {
        // §14.6: at least 16 bytes, truncated only in multiples of 4, at most 32.
        if (value_len < 16 || value_len > 32 || value_len % 4 != 0) {
          return tl::unexpected(StunParseError::kBadIntegrityLength);
        }
        m.integrity_sha256_ = at;
      } else if (type == to_u16(StunAttr::kFingerprint)) {
        if (value_len != 4) return tl::unexpected(StunParseError::kBadFingerprintLength);
        m.fingerprint_ = at;
      }
      seen = update_seen(type, seen);
    }
    pos = value_at + padded(value_len);
  }
  return m;
}

uint16_t StunMessage::type() const {
  return read_u16(bytes_, 0);
}

TransactionId StunMessage::transaction_id() const {
  TransactionId id;
  std::copy_n(bytes_.begin() + 8, id.size(), id.begin());
  return id;
}

StunAttributeIterator StunMessage::begin() const {
  return StunAttributeIterator(bytes_, kStunHeaderSize);
}

StunAttributeIterator StunMessage::end() const {
  return StunAttributeIterator(bytes_, bytes_.size());
}

std::optional<StunAttribute> StunMessage::find(uint16_t type) const {
  for (const StunAttribute& a : *this) {
    if (a.type == type) return a;
  }
  return std::nullopt;
}

size_t StunMessage::unknown_comprehension_required(std::span<uint16_t> out) const {
  size_t count = 0;
  for (auto it = begin(); it != end(); ++it) {
    const uint16_t t = it->type;
    if (!is_comprehension_required(t) || is_known_stun_attribute(t)) continue;
    // Duplicates once: an earlier attribute of the same type was already counted.
    bool duplicate = false;
    for (auto prev = begin(); prev != it; ++prev) {
      if (prev->type == t) duplicate = true;
    }
    if (duplicate) continue;
    if (count < out.size()) out[count] = t;
    ++count;
  }
  return count;
}

StunAttributeIterator::StunAttributeIterator(Bytes message, size_t pos)
    : message_(message), pos_(pos) {
  load();
}

void StunAttributeIterator::load() {
  // Bounds are re-checked, so an iterator over a message that parse() did not
  // accept still cannot over-read; it just ends early.
  while (pos_ + kStunAttributeHeaderSize <= message_.size()) {
    const uint16_t type = read_u16(message_, pos_);
    const size_t value_len = read_u16(message_, pos_ + 2);
    const size_t value_at = pos_ + kStunAttributeHeaderSize;
    if (value_len > message_.size() - value_at) break;
    if (!ignored(type, seen_)) {
      current_ = StunAttribute{type, message_.subspan(value_at, value_len), pos_};
      return;
    }
    pos_ = std::min(message_.size(), value_at + padded(value_len));
  }
  pos_ = message_.size();
  current_ = StunAttribute{};
}

StunAttributeIterator& StunAttributeIterator::operator++() {
  if (pos_ >= message_.size()) return *this;
  seen_ = update_seen(current_.type, seen_);
  pos_ = std::min(message_.size(),
                  current_.offset + kStunAttributeHeaderSize + padded(current_.value.size()));
  load();
  return *this;
}

}  // namespace tern::wire

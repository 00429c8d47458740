#include "wire/stun_fingerprint.hpp"

#include <array>

#include "wire/stun_builder.hpp"

namespace tern::wire {
namespace {

// Not cryptography: a table-driven CRC-32 (reflected polynomial 0xEDB88320);
// docs/stun-turn.md says why it is not zlib's.
constexpr std::array<uint32_t, 256> make_crc_table() {
  std::array<uint32_t, 256> table{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 8; ++k)
      c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
    table[i] = c;
  }
  return table;
}
constexpr auto kCrcTable = make_crc_table();

uint32_t crc_update(uint32_t crc, Bytes data) {
  for (uint8_t b : data)
    crc = kCrcTable[(crc ^ b) & 0xFF] ^ (crc >> 8);
  return crc;
}

}  // namespace

uint32_t stun_crc32(Bytes a, Bytes b) {
  return ~crc_update(crc_update(0xFFFFFFFFu, a), b);
}

StunCheck check_fingerprint(const StunMessage& m) {
  const auto offset = m.fingerprint_offset();
  if (!offset) return StunCheck::kAbsent;
  // FINGERPRINT is last (parse() enforces it), so the header's length is already right.
  const Bytes msg = m.bytes();
  const uint32_t expected = stun_crc32(msg.first(*offset)) ^ kStunFingerprintXor;
  ByteReader r(msg.subspan(*offset + kStunAttributeHeaderSize));
  return r.u32_be() == expected ? StunCheck::kValid : StunCheck::kInvalid;
}

// Reserve first, so the header's length already includes FINGERPRINT, then CRC
// everything before it.
StunBuilder& StunBuilder::add_fingerprint() {
  const size_t offset = size_;
  if (auto v = reserve(to_u16(StunAttr::kFingerprint), 4)) {
    const uint32_t crc = stun_crc32(Bytes(out_.data(), offset)) ^ kStunFingerprintXor;
    (*v)[0] = static_cast<uint8_t>(crc >> 24);
    (*v)[1] = static_cast<uint8_t>(crc >> 16);
    (*v)[2] = static_cast<uint8_t>(crc >> 8);
    (*v)[3] = static_cast<uint8_t>(crc);
  }
  return *this;
}

}  // namespace tern::wire

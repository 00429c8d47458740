// STUN FINGERPRINT (RFC 8489 §14.7): CRC-32 of the message up to the attribute,
// XOR 0x5354554E, always the last attribute. It tells STUN apart from other
// protocols on a shared port; it authenticates nothing. The builder side is
// StunBuilder::add_fingerprint, defined in the .cpp.
#pragma once

#include <cstdint>

#include "base/bytes.hpp"
#include "wire/stun.hpp"

namespace tern::wire {

inline constexpr uint32_t kStunFingerprintXor = 0x5354554E;

// CRC-32 as in ISO 3309 / ITU-T V.42 (zlib's crc32) over a || b.
[[nodiscard]] uint32_t stun_crc32(Bytes a, Bytes b = {});

[[nodiscard]] StunCheck check_fingerprint(const StunMessage& m);

}  // namespace tern::wire

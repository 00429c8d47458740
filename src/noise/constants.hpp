// WireGuard protocol constants (whitepaper §6.1; kernel messages.h; wireguard-go
// device/constants.go).
#pragma once

#include <cstdint>

#include "base/time.hpp"

namespace tern::noise {

// After this many messages on one session the initiator starts a new handshake.
inline constexpr uint64_t kRekeyAfterMessages = uint64_t{1} << 60;
// 2^64 - 2^13 - 1 (whitepaper): no counter at or above it is ever sent or accepted.
inline constexpr uint64_t kRejectAfterMessages = UINT64_MAX - (uint64_t{1} << 13);
inline constexpr Duration kRekeyAfterTime = std::chrono::seconds(120);
inline constexpr Duration kRejectAfterTime = std::chrono::seconds(180);
inline constexpr Duration kRekeyAttemptTime = std::chrono::seconds(90);
inline constexpr Duration kRekeyTimeout = std::chrono::seconds(5);
inline constexpr Duration kKeepaliveTimeout = std::chrono::seconds(10);
// A cookie secret lives this long; a received cookie is used for mac2 this long.
inline constexpr Duration kCookieRefreshTime = std::chrono::seconds(120);

}  // namespace tern::noise

// Protocol constants of WireGuard (whitepaper §6.1), as used by core/.
#pragma once

#include <cstdint>

#include "base/time.hpp"

namespace tern::core {

inline constexpr uint64_t kRekeyAfterMessages = uint64_t{1} << 60;
inline constexpr uint64_t kRejectAfterMessages = UINT64_MAX - (uint64_t{1} << 13);
inline constexpr Duration kRekeyAfterTime = std::chrono::seconds(120);
inline constexpr Duration kRejectAfterTime = std::chrono::seconds(180);
inline constexpr Duration kRekeyAttemptTime = std::chrono::seconds(90);
inline constexpr Duration kRekeyTimeout = std::chrono::seconds(5);
inline constexpr Duration kKeepaliveTimeout = std::chrono::seconds(10);
inline constexpr Duration kRekeyTimeoutJitterMax = std::chrono::milliseconds(334);
inline constexpr unsigned kMaxTimerHandshakes =
    static_cast<unsigned>(kRekeyAttemptTime / kRekeyTimeout);  // 18
// Initiations from one peer closer together than this are a flood (as wireguard-go).
inline constexpr Duration kHandshakeInitiationRate = std::chrono::milliseconds(20);
// Packets held per peer while a handshake is in progress (the kernel's MAX_STAGED_PACKETS).
inline constexpr size_t kMaxStagedPackets = 128;

}  // namespace tern::core

// Timing and queue constants of the WireGuard device (whitepaper §6.1); the
// protocol-wide ones live in noise/constants.hpp and are re-exported here.
#pragma once

#include <cstddef>

#include "base/time.hpp"
#include "noise/constants.hpp"

namespace tern::core {

using noise::kKeepaliveTimeout;
using noise::kRejectAfterMessages;
using noise::kRejectAfterTime;
using noise::kRekeyAfterMessages;
using noise::kRekeyAfterTime;
using noise::kRekeyAttemptTime;
using noise::kRekeyTimeout;

inline constexpr Duration kRekeyTimeoutJitterMax = std::chrono::milliseconds(334);
inline constexpr unsigned kMaxTimerHandshakes =
    static_cast<unsigned>(kRekeyAttemptTime / kRekeyTimeout);  // 18
// Initiations from one peer closer together than this are a flood (wireguard-go: 50/s).
inline constexpr Duration kHandshakeInitiationRate = std::chrono::milliseconds(20);
// Packets held per peer while a handshake is in progress (the kernel's MAX_STAGED_PACKETS).
inline constexpr size_t kMaxStagedPackets = 128;
// More handshake messages than this within one second puts the device under load:
// it then demands mac2 (cookies) before spending a DH on an initiation.
inline constexpr unsigned kUnderLoadHandshakesPerSecond = 256;
inline constexpr Duration kUnderLoadTime = std::chrono::seconds(1);

}  // namespace tern::core

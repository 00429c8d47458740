// What a relay check's results mean, cause by cause: each half-working relay deployment (the
// relayed address private, the relay ports firewalled, a peer refused, REST credentials off by
// a secret or a clock, a quota, a bandwidth cap) becomes a RelayFinding with a stable code and
// one sentence of cause and fix. Pure: the checks ran elsewhere; docs/doctor-relay.md lists
// the codes.
#pragma once

#include <cstdint>
#include <vector>

#include "doctor/relay_report.hpp"

namespace tern::doctor {

// REST usernames expiring further ahead than this were made by a clock that runs ahead (or
// for a lifetime no issuer should use).
inline constexpr int64_t kRestMaxAheadSeconds = 7 * 24 * 3600;
// The probe for a server clock that is behind: credentials that expired this long ago.
inline constexpr int64_t kRestSkewProbeSeconds = 120;
// The probe for a server clock that is ahead: credentials valid this long.
inline constexpr int64_t kRestFarFutureSeconds = 30 * 24 * 3600;

// Loss that grows with the rate: at the highest rate at least this much, and this much more
// than at the first.
inline constexpr double kCapLossPercent = 10.0;

// Every finding for one URL, most telling first; empty for a relay that works.
[[nodiscard]] std::vector<RelayFinding> relay_findings(const RelayUrlResult& r);

// Whether the rate steps show a bandwidth cap (loss growing with the rate).
[[nodiscard]] bool shows_bandwidth_cap(const std::vector<RateStep>& steps);

}  // namespace tern::doctor

// The doctor's echo probes through a relay, and the address facts its findings need.
// A probe is one UDP payload: "tdr1", a kind, a sequence number and the send time, then a
// pattern up to the chosen size, so an echo is matched to its probe and checked byte for byte.
//   0      4    5      8             16            24
//   | tdr1 |kind| 0 0 0|   sequence   |  sent (ns)  | pattern: byte i = i & 0xFF ...
#pragma once

#include <cstdint>
#include <optional>

#include "base/bytes.hpp"
#include "base/ip.hpp"
#include "base/time.hpp"

namespace tern::doctor {

inline constexpr size_t kProbeHeaderSize = 24;

enum class ProbeKind : uint8_t { kRtt = 1, kSize = 2 };

struct Probe {
  ProbeKind kind = ProbeKind::kRtt;
  uint64_t sequence = 0;
  Instant sent{};
};

// Writes a probe of out.size() bytes (at least kProbeHeaderSize).
void write_probe(const Probe& p, MutableBytes out);
// The probe in an echo; nullopt unless the header and the whole pattern are intact.
[[nodiscard]] std::optional<Probe> read_probe(Bytes data);

// Loopback, RFC 1918, CGNAT (100.64/10), link-local, IPv6 ULA and link-local: addresses a
// peer on the internet cannot send to.
[[nodiscard]] bool is_non_public(const IpAddress& a);

}  // namespace tern::doctor

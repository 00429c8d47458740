// What `tern doctor relay` found for each URL, and its two renderings: a human report
// with the fix for each failure, and JSON with stable field names (docs/doctor.md).
// The checks run in order; once one fails, the ones that need it are "skipped".
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/ip.hpp"
#include "base/time.hpp"
#include "doctor/rtt_stats.hpp"

namespace tern::doctor {

enum class CheckStatus : uint8_t { kPass, kWarn, kFail, kSkipped };
std::string_view check_status_name(CheckStatus s);  // "pass", "warn", "fail", "skipped"

struct Check {
  CheckStatus status = CheckStatus::kSkipped;
  std::string detail;  // what was seen, or why it failed
  std::string fix;     // what to do about it; empty when nothing needs doing
};

struct RoundTrip {
  RttStats stats;
  unsigned rate_per_second = 0;
  size_t payload_size = 0;
  Duration duration{};
  bool via_channel = false;  // ChannelData once the channel was bound, else Send indications
};

struct LargestPacket {
  size_t payload_bytes = 0;    // the largest UDP payload that went round the relayed path
  bool dont_fragment = false;  // searched with DONT-FRAGMENT (else the relay may fragment)
  size_t search_limit = 0;     // the search's upper bound
};

struct RelayUrlResult {
  std::string url;        // as canonicalised by parse_turn_url
  std::string transport;  // "udp", ...
  std::optional<Endpoint> server;
  Check resolve;
  Check reachability;
  Check authentication;
  Check allocation;
  Check round_trip;
  Check largest_packet;
  std::string error_kind;  // turn_error_kind_name() of the TURN failure, if any
  std::optional<Duration> binding_rtt;
  std::optional<Endpoint> mapped;
  std::optional<Endpoint> relayed;
  std::optional<Endpoint> peer;  // the echo socket's address as the server saw it
  std::optional<Duration> allocation_lifetime;
  std::optional<Duration> permission_lifetime;
  std::optional<Duration> channel_lifetime;
  std::optional<RoundTrip> round_trip_figures;
  std::optional<LargestPacket> largest;

  // No check failed (warnings and skips that follow from the URL pass).
  bool passed() const;
};

[[nodiscard]] std::string render_human(const std::vector<RelayUrlResult>& results);
[[nodiscard]] nlohmann::json to_json(const std::vector<RelayUrlResult>& results);

}  // namespace tern::doctor

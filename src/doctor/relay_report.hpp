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

// The TLS session and the server's certificate (turns: only).
struct TlsReport {
  std::string protocol;  // "TLSv1.3"
  std::string cipher;
  std::optional<Duration> handshake_time;
  bool has_certificate = false;
  std::string subject;
  std::string issuer;
  std::vector<std::string> names;  // subjectAltNames (or the CN)
  int64_t not_before_unix = 0;
  int64_t not_after_unix = 0;
  bool trusted = false;       // the chain verified against this host's CAs (or --ca-file)
  std::string verify_error;   // why not
  bool name_matches = false;  // the URL's host is one of `names`
  bool self_signed = false;
};

// One cause `tern doctor relay` found, in the shape every doctor check shares: a stable code
// (docs/doctor-relay.md lists them) and one sentence with the cause and the fix.
struct RelayFinding {
  std::string code;
  std::string message;
  bool warning = false;  // packets still flow (or will stop later); else they are lost now

  bool operator==(const RelayFinding&) const = default;
};

// TURN REST credentials (username "EXPIRY[:name]") and what the server made of them. With the
// shared secret the doctor also asks with credentials of its own making, to place the server's
// clock: one valid for 30 days after a refusal, one expired minutes ago after an acceptance.
struct RestFacts {
  int64_t expiry_unix = 0;
  int64_t local_unix = 0;  // this machine's clock when they were used
  bool made_here = false;  // from --secret, valid for --rest-ttl
  bool accepted = false;
  std::optional<bool> far_future_accepted;
  std::optional<bool> recently_expired_accepted;
};

// Probes at one rate in the bandwidth steps (--rate, then 4x and 16x).
struct RateStep {
  unsigned rate_per_second = 0;
  uint64_t sent = 0;
  uint64_t received = 0;

  double loss_percent() const {
    return sent == 0 ? 0.0
                     : 100.0 * static_cast<double>(sent - received) / static_cast<double>(sent);
  }
};

struct RelayUrlResult {
  std::string url;        // as canonicalised by parse_turn_url
  std::string transport;  // "udp", ...
  std::optional<Endpoint> server;
  Check resolve;
  Check reachability;
  Check tls;  // turns: only: the handshake and the certificate
  Check authentication;
  Check allocation;
  Check round_trip;
  Check largest_packet;
  std::string error_kind;                // turn_error_kind_name() of the TURN failure, if any
  std::optional<Duration> connect_time;  // TCP and TLS: the TCP handshake
  std::optional<TlsReport> tls_facts;
  std::optional<Duration> binding_rtt;
  std::optional<Endpoint> mapped;
  std::optional<Endpoint> relayed;
  std::optional<Endpoint> peer;  // the echo socket's address as the server saw it
  std::optional<Duration> allocation_lifetime;
  std::optional<Duration> permission_lifetime;
  std::optional<Duration> channel_lifetime;
  std::optional<RoundTrip> round_trip_figures;
  std::optional<LargestPacket> largest;
  std::optional<uint64_t> peer_delivered;  // probes the relay delivered to the peer socket
  std::optional<RestFacts> rest;
  std::vector<RateStep> rate_steps;
  // What the checks above mean, cause by cause (relay_findings.hpp); filled at the end.
  std::vector<RelayFinding> findings;

  // No check failed (warnings and skips that follow from the URL pass).
  bool passed() const;
};

// "2026-11-24T05:00:00Z".
std::string utc_text(int64_t unix_seconds);

[[nodiscard]] std::string render_human(const std::vector<RelayUrlResult>& results);
// `config_findings`: what --coturn-config and --netbird-config found in the files.
[[nodiscard]] nlohmann::json to_json(const std::vector<RelayUrlResult>& results,
                                     const std::vector<RelayFinding>& config_findings = {});
[[nodiscard]] nlohmann::json to_json(const RelayFinding& f);
// Also the config findings, after the URLs.
[[nodiscard]] std::string render_human(const std::vector<RelayUrlResult>& results,
                                       const std::vector<RelayFinding>& config_findings);

}  // namespace tern::doctor

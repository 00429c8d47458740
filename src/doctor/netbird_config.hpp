// `tern doctor relay --netbird-config FILE`: the STUN and TURN servers a NetBird management
// server hands its peers, read from its management.json (Stuns[], TURNConfig.Turns[] with
// Proto, URI, Username, Password; TURNConfig.Secret, TimeBasedCredentials and CredentialsTTL),
// turned into the relay checks to run with the credentials NetBird's peers get. With
// TimeBasedCredentials a peer's username is the expiry alone ("1735689600") and its password
// base64(HMAC-SHA1(Secret, username)). The file is parsed bounded and fuzzed.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"
#include "base/time.hpp"
#include "core/turn_credentials.hpp"
#include "doctor/relay_report.hpp"
#include "doctor/turn_url.hpp"

namespace tern::doctor {

struct NetbirdHost {
  std::string proto;  // "udp", "tcp", ...
  std::string uri;    // "turn:netbird.example.com:3478"
  std::string username;
  std::string password;
};

struct NetbirdConfig {
  std::vector<NetbirdHost> stuns;
  std::vector<NetbirdHost> turns;
  std::string secret;
  bool time_based = false;
  std::optional<Duration> credentials_ttl;  // CredentialsTTL ("12h"), when it parses
};

inline constexpr size_t kNetbirdConfigMaxBytes = 4 << 20;
inline constexpr size_t kNetbirdMaxHosts = 256;

// Fails on text that is not JSON, is too large, or lacks both Stuns and TURNConfig.
[[nodiscard]] Result<NetbirdConfig> parse_netbird_config(std::string_view text);

// One relay check the file asks for.
struct NetbirdTarget {
  TurnUrl url;
  std::optional<core::TurnCredentials> credentials;  // static Username/Password
  std::optional<std::string> secret;                 // TimeBasedCredentials: TURNConfig.Secret
  std::optional<Duration> rest_ttl;
};

struct NetbirdPlan {
  std::vector<NetbirdTarget> targets;
  std::vector<RelayFinding> findings;  // what in the file itself is wrong (netbird_* codes)
};

[[nodiscard]] NetbirdPlan plan_netbird_checks(const NetbirdConfig& config);

// Go's time.Duration text as NetBird writes it: "12h", "30m", "1h30m", "90s".
[[nodiscard]] std::optional<Duration> parse_go_duration(std::string_view text);

}  // namespace tern::doctor

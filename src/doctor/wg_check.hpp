// `tern doctor wg`'s judgement, sans I/O: samples of one WireGuard interface taken over a
// window (kernel or UAPI, the same snapshot), plus what was measured around it (the NAT's
// mapping lifetime, the largest DF ping answered through the tunnel), become one report per
// peer: its findings, each with a stable cause code (docs/doctor-wg.md), and one sentence
// with the cause and the fix. A healthy peer gets no finding: false alarms are defects too.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/ip.hpp"
#include "base/time.hpp"
#include "crypto/key.hpp"
#include "uapi/get.hpp"

namespace tern::doctor {

// WireGuard's REJECT_AFTER_TIME + a margin: a session this old carries nothing.
inline constexpr Duration kDeadSessionAge = std::chrono::seconds(180);
// A keepalive or a handshake on the wire, as tx_bytes counts them.
inline constexpr uint64_t kKeepaliveBytes = 32;
// A handshake initiation on the wire: what a peer that hears nothing from us keeps sending.
inline constexpr uint64_t kInitiationBytes = 148;

struct WgSample {
  Instant at{};
  WallTime wall{};
  uapi::DeviceSnapshot device;
};

struct WgTunnelPing {
  IpAddress target;                        // the peer's overlay address
  std::optional<size_t> largest_answered;  // IP packet bytes; nullopt: nothing answered
  std::string error;                       // the ping could not run (with the reason)
};

struct WgCheckInput {
  std::string ifname;
  std::string source;  // "kernel" or "uapi"
  std::optional<uint32_t> mtu;
  std::vector<WgSample> samples;
  std::optional<Duration> nat_lifetime;  // measured by `tern doctor nat`, when known
  std::map<crypto::Key, WgTunnelPing> pings;
};

struct WgFinding {
  std::string code;     // "endpoint_flapping", "handshake_stale", "handshake_failing",
                        // "one_way_loss", "keepalive_exceeds_nat_lifetime", "tunnel_mtu_black_hole"
  std::string message;  // the cause and the fix, one sentence
};

struct WgPeerReport {
  crypto::Key public_key{};
  std::vector<Endpoint> endpoints;  // every endpoint seen, in order of first sight
  unsigned endpoint_changes = 0;
  std::optional<Endpoint> endpoint;       // the last one
  std::optional<Duration> handshake_age;  // at the last sample; nullopt: never
  uint64_t rx_delta = 0;
  uint64_t tx_delta = 0;
  // Every rx step between samples was keepalives and handshake initiations only: the peer
  // hears nothing from us (it would answer data, and a response is 92 bytes).
  bool rx_control_only = true;
  uint16_t keepalive = 0;
  std::optional<WgTunnelPing> ping;
  std::vector<WgFinding> findings;
};

struct WgInterfaceReport {
  std::string ifname;
  std::string source;
  std::optional<uint32_t> mtu;
  Duration window{};
  std::optional<Duration> nat_lifetime;  // the one the keepalives were held against
  std::vector<WgPeerReport> peers;
  std::string error;  // the interface could not be read
};

[[nodiscard]] WgInterfaceReport check_wg(const WgCheckInput& input);
// The keepalive that holds a NAT mapping of this lifetime with margin (two thirds).
[[nodiscard]] unsigned keepalive_for_lifetime(Duration lifetime);

[[nodiscard]] bool has_findings(const std::vector<WgInterfaceReport>& reports);
[[nodiscard]] std::string render_wg_human(const std::vector<WgInterfaceReport>& reports);
[[nodiscard]] nlohmann::json wg_to_json(const std::vector<WgInterfaceReport>& reports);

}  // namespace tern::doctor

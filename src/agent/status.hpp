// What `tern status` shows: a snapshot of one interface and its peers, with
// traffic and drop counters by reason. The agent fills it; the CLI prints it
// as a table or as JSON (the JSON field names are a stable interface for scripts).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "base/drop_reason.hpp"
#include "base/ip.hpp"
#include "base/time.hpp"

namespace tern::agent {

struct TrafficCounters {
  uint64_t rx_bytes = 0;
  uint64_t tx_bytes = 0;
  uint64_t rx_packets = 0;
  uint64_t tx_packets = 0;
};

// Path MTU of one peer (issue 4; docs/path-probes.md). An agent too old to report it
// leaves `known` false.
struct PeerMtuStatus {
  bool known = false;
  std::optional<uint32_t> path_mtu;    // found by probes; none until the peer answered one
  uint32_t overlay_mtu = 0;            // the largest inner packet sent to the peer as one
  std::string pmtud_state;             // disabled, base, searching, search_complete, error
  std::optional<bool> peer_runs_tern;  // answered probes: yes; a round unanswered: no
  uint32_t announced_mtu = 0;          // the MTU the peer announced; 0 = none yet
  uint64_t pings_sent = 0;
  uint64_t pongs_received = 0;
  uint64_t ptb_sent = 0;        // ICMP too-big written back into the TUN
  uint64_t fragments_made = 0;  // IPv4 fragments made of packets without DF
  uint64_t mss_clamped = 0;     // TCP SYNs and SYN-ACKs whose MSS was lowered
};

// The agent's TURN relay ([Relay]) and the peers it carries (docs/config.md).
struct RelayPeerStatus {
  Endpoint endpoint;        // the peer, as the relay sends to it
  uint16_t channel = 0;     // bound channel; 0: Send indications
  bool permission = false;  // the relay lets this peer's address in
};
struct RelayStatus {
  std::string url;
  std::string server;               // the address the URL resolved to
  std::string state;                // allocating, allocated, closing, closed, failed
  std::optional<Endpoint> relayed;  // the allocation: where relayed peers send to us
  std::optional<Endpoint> mapped;   // our address as the relay sees it
  std::string last_error;
  // Over TCP/TLS: connections dropped because they stalled (a path MTU black hole towards the
  // relay, likely), and the segment size clamped since (0: none).
  uint64_t stream_stalls = 0;
  uint16_t stream_mss = 0;
  std::vector<RelayPeerStatus> peers;
};

struct PeerStatus {
  std::string public_key;  // base64
  std::optional<Endpoint> endpoint;
  std::optional<WallTime> last_handshake;
  TrafficCounters traffic;
  uint16_t persistent_keepalive = 0;
  std::vector<IpPrefix> allowed_ips;
  DropCounters drops;
  PeerMtuStatus mtu;
  bool via_relay = false;  // reached through the agent's TURN allocation
};

// The agent's tern control connection (`tern up --control`), when it has one.
struct ControlRelayStatus {
  std::string url;
  int64_t expires_unix = 0;  // of the TURN credentials the map carries
};
struct ControlStatus {
  std::string server;
  std::string connection;  // connected, connecting, registering, waiting, removed
  std::string last_error;  // why the last connection ended; empty if none
  int64_t revision = 0;    // of the map in use; 0: none yet
  std::optional<int64_t> map_received_unix;
  std::string overlay_ipv4;
  std::string overlay_ipv6;
  size_t peers = 0;
  std::vector<ControlRelayStatus> relays;
};

struct InterfaceStatus {
  std::string name;
  std::string public_key;  // base64
  uint16_t listen_port = 0;
  uint32_t mtu = 0;
  TrafficCounters totals;
  DropCounters drops;  // interface-wide: includes drops that belong to no peer
  std::vector<PeerStatus> peers;
  std::optional<ControlStatus> control;
  std::optional<RelayStatus> relay;
};

nlohmann::json to_json(const InterfaceStatus& s);
InterfaceStatus status_from_json(const nlohmann::json& j);  // throws nlohmann::json::exception
// A human table; `now` makes "last handshake 12 s ago".
std::string format_status(const InterfaceStatus& s, WallTime now);

}  // namespace tern::agent

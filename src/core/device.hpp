// The WireGuard device, sans-I/O: peers, cryptokey routing, handshakes,
// sessions and timers. It takes IP packets from the TUN side and datagrams
// from the UDP side, with `now` passed in, and says what to do with them;
// it never touches a socket or a clock.
//
// Outbound (TUN -> UDP):
//   1. the agent reads an IP packet into buffer[16..16+len) (room for the header)
//   2. send_packet(): route by destination -> peer -> current session
//   3. pad to 16, encrypt in place -> Send {endpoint, buffer[0..n)}
//      or, without a session: stage the packet, start a handshake -> Queued
// Inbound (UDP -> TUN):
//   1. receive_datagram(): classify -> handshake message or transport data
//   2. transport: index -> session -> replay check -> decrypt in place ->
//      learn endpoint (roaming) -> check inner source against allowed IPs
//      -> Deliver {the inner packet inside the datagram buffer}
// Everything else the device sends (handshakes, cookie replies, keepalives,
// packets staged until a handshake completed, path probes) comes out of poll_transmit().
// Path MTU (device_probes.cpp, docs/path-probes.md): with path MTU discovery on, the device
// probes each peer's endpoint with padded pings (RFC 8899), answers the peer's pings, and
// keeps a per-peer overlay MTU; a stock WireGuard peer, which answers none, keeps `mtu`.
// Every discarded packet is counted by reason (drops(), per peer too).
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <unordered_map>
#include <vector>

#include "base/bytes.hpp"
#include "base/drop_reason.hpp"
#include "base/ip.hpp"
#include "base/time.hpp"
#include "core/allowed_ips.hpp"
#include "core/device_event.hpp"
#include "core/outstanding_probes.hpp"
#include "core/peer.hpp"
#include "core/tun_boundary.hpp"
#include "crypto/key.hpp"
#include "noise/cookie.hpp"
#include "noise/identity.hpp"
#include "wire/wireguard.hpp"

namespace tern::core {

// Room the agent leaves before an outbound IP packet and needs after it.
inline constexpr size_t kSendHeadroom = wire::kTransportHeaderSize;
inline constexpr size_t kSendTailroom = 15 + wire::kAuthTagSize;  // padding + tag

struct SendResult {
  // kQueued: waits for a handshake, or (IPv4 fragments) leaves through poll_transmit().
  // kTooBig: larger than the peer's MTU; a PTB for the sender waits in poll_tun_write().
  enum class Kind : uint8_t { kSend, kQueued, kDropped, kTooBig };
  Kind kind = Kind::kDropped;
  Endpoint to;          // kSend
  size_t length = 0;    // kSend: the message is buffer[0..length)
  DropReason reason{};  // kDropped
};

struct ReceiveResult {
  enum class Kind : uint8_t { kDeliver, kConsumed, kDropped };
  Kind kind = Kind::kDropped;
  Bytes packet;         // kDeliver: the inner IP packet, inside the datagram buffer
  DropReason reason{};  // kDropped
};

struct Transmit {
  Endpoint to;
  Bytes data;  // valid until the next call into the device
};

// A read-only view of a peer for status and the UAPI.
struct PeerInfo {
  PeerId id = 0;
  crypto::Key public_key{};
  crypto::Key preshared_key{};
  std::optional<Endpoint> endpoint;
  std::optional<WallTime> last_handshake;
  uint16_t persistent_keepalive = 0;
  std::vector<IpPrefix> allowed_ips;
  TrafficCounters traffic;
  DropCounters drops;
  // Path MTU (issue 4): none until the peer answered a probe on its current endpoint.
  std::optional<size_t> path_mtu;
  size_t overlay_mtu = 0;  // the largest inner packet sent to this peer as one
  PmtudState pmtud_state = PmtudState::kDisabled;
  ProbeSupport probe_support = ProbeSupport::kUnknown;
  uint16_t announced_mtu = 0;  // what the peer said in its pings/pongs; 0 = nothing yet
  ProbeCounters probes;
  BoundaryCounters boundary;
};

class Device {
 public:
  explicit Device(const crypto::Key& private_key);
  ~Device();
  Device(const Device&) = delete;
  Device& operator=(const Device&) = delete;

  // ---- Configuration ----
  void set_private_key(const crypto::Key& private_key);
  const crypto::Key& private_key() const { return identity_.private_key; }
  const crypto::Key& public_key() const { return identity_.public_key; }
  // Largest inner packet; padding never grows a packet beyond it.
  void set_mtu(size_t mtu);
  size_t mtu() const { return mtu_; }
  // Relates the monotonic clock to wall time, for TAI64N and last-handshake times.
  void set_wall_clock(WallTime wall, Instant mono) { wall_offset_ns_ = wall.unix_ns - to_ns(mono); }
  // Path MTU discovery (off until turned on; the agent follows PathMtuDiscovery). Off, every
  // peer's overlay MTU is `mtu`. `max_path_mtu` is the largest path MTU searched for (the
  // outer interface's MTU); the search stops below mtu + overhead anyway.
  void set_path_mtu_discovery(bool on, Instant now);
  void set_max_path_mtu(size_t mtu) { max_path_mtu_ = mtu; }
  size_t max_path_mtu() const { return max_path_mtu_; }
  // A peer reached through a TURN relay: its path MTU is searched on the leg to the relay
  // server and its overhead counts the relay's framing (peer_path.hpp); nullopt: direct.
  void set_relay_leg(PeerId id, std::optional<PathLeg> leg, Instant now);
  // on_send_too_big for a relayed peer's message: `framed_size` (the datagram to the relay
  // server) could not leave this host (EMSGSIZE): a hint for the search on the relay leg.
  void on_relay_send_too_big(const Endpoint& peer, size_t framed_size, Instant now);
  // TCP SYN / SYN-ACK MSS clamped to the peer's overlay MTU both ways (MssClamp; on).
  void set_mss_clamp(bool on) { mss_clamp_ = on; }
  // The largest inner packet that goes to this peer as one (mtu() when unknown).
  size_t overlay_mtu(PeerId id) const;
  // Tests and operators can force cookie (mac2) checks; otherwise load decides.
  void force_under_load(bool on) { forced_under_load_ = on; }

  // Adds a peer, or returns the existing one with that key. nullopt for our own key.
  std::optional<PeerId> add_peer(const crypto::Key& public_key);
  std::optional<PeerId> find_peer(const crypto::Key& public_key) const;
  void remove_peer(PeerId id);
  void remove_all_peers();
  void set_preshared_key(PeerId id, const crypto::Key& psk);
  void set_endpoint(PeerId id, const Endpoint& endpoint);
  // Seconds, 0 = off. Turning it on sends a keepalive at once, as WireGuard does.
  void set_persistent_keepalive(PeerId id, uint16_t seconds, Instant now);
  void add_allowed_ip(PeerId id, const IpPrefix& prefix);
  void remove_allowed_ip(PeerId id, const IpPrefix& prefix);
  void clear_allowed_ips(PeerId id);

  std::vector<PeerId> peer_ids() const;
  std::optional<PeerInfo> peer_info(PeerId id) const;
  // Allocation-free, for what runs every loop turn (the relay following its peers' endpoints);
  // peer_info copies the allowed IPs. endpoint: nullopt when none is known or no such peer.
  bool has_peer(PeerId id) const { return peer(id) != nullptr; }
  std::optional<Endpoint> endpoint(PeerId id) const;

  // ---- Data path ----
  // `buffer` holds the IP packet at [kSendHeadroom, kSendHeadroom + length) and has
  // kSendTailroom bytes after it.
  SendResult send_packet(MutableBytes buffer, size_t length, Instant now);
  // Decrypts in place; a delivered packet points into `datagram`.
  ReceiveResult receive_datagram(const Endpoint& from, MutableBytes datagram, Instant now);

  // ---- Control messages and timers ----
  std::optional<Transmit> poll_transmit(Instant now);
  // An IP packet to write into the TUN (an ICMP Packet Too Big for a local sender); valid
  // until the next call into the device.
  std::optional<Bytes> poll_tun_write();
  std::optional<Instant> poll_timeout() const;
  void handle_timeout(Instant now);
  // The oldest event not yet taken; at most kMaxEvents are kept, the oldest go first.
  std::optional<DeviceEvent> poll_event();
  static constexpr size_t kMaxEvents = 256;

  // ---- Counters ----
  const DropCounters& drops() const { return drops_; }
  const TrafficCounters& totals() const { return totals_; }
  // Counts a drop that happened outside the device (e.g. a failed send) against a
  // peer's endpoint when one matches.
  void count_drop(DropReason reason, const std::optional<Endpoint>& to = std::nullopt);
  // A datagram of `size` bytes to `to` could not leave this host: its outgoing interface is
  // smaller (EMSGSIZE). Counted as too_big_for_path; on a peer's direct path a refused probe
  // is lost at once and refused data makes the search confirm downward (Pmtud::on_too_big_locally).
  void on_send_too_big(const Endpoint& to, size_t size, Instant now);

 private:
  struct Pending {
    Endpoint to;
    std::array<uint8_t, wire::kInitiationSize> data{};
    size_t length = 0;
  };

  Peer* peer(PeerId id);
  const Peer* peer(PeerId id) const;
  void drop(DropReason reason, Peer* p = nullptr);
  void emit(DeviceEvent e);
  WallTime wall(Instant now) const { return WallTime{to_ns(now) + wall_offset_ns_}; }
  Duration jitter();
  bool under_load(Instant now);

  uint32_t allocate_index(PeerId id);
  void release_index(uint32_t index);

  // Send side (device_send.cpp).
  size_t encrypt_for(Peer& p, Keypair& kp, MutableBytes buffer, size_t length, Instant now);
  void stage(Peer& p, Bytes packet);
  void send_initiation(Peer& p, Instant now, bool is_retry);
  void send_keepalive(Peer& p, Instant now);
  void keep_key_fresh_on_send(Peer& p, const Keypair& kp, Instant now);
  void queue_message(Peer& p, Pending message);
  void count_sent(Peer& p, size_t bytes);

  // Receive side (device_receive.cpp).
  // An authenticated message arrived: learn the endpoint, count it, tell the timers.
  void authenticated(Peer& p, const Endpoint& from, size_t bytes, Instant now);
  ReceiveResult receive_transport(const Endpoint& from, MutableBytes datagram, Instant now);
  ReceiveResult receive_initiation(const Endpoint& from, MutableBytes datagram, Instant now);
  ReceiveResult receive_response(const Endpoint& from, MutableBytes datagram, Instant now);
  ReceiveResult receive_cookie_reply(MutableBytes datagram, Instant now);
  // mac1, and under load mac2 (answering with a cookie reply); false = dropped.
  bool check_macs(const Endpoint& from, Bytes message, Instant now, ReceiveResult& result);

  // Sessions (device_sessions.cpp).
  void install_keypair(Peer& p, const noise::SessionKeys& keys, Instant now);
  void promote_next(Peer& p);
  void clear_keypairs(Peer& p);
  void handshake_completed(Peer& p, Instant now);
  void on_timer(Peer& p, TimerAction action, Instant now);

  // The TUN boundary (device_boundary.cpp): packets over the peer's MTU, MSS clamping.
  // nullopt: send the packet as usual.
  std::optional<SendResult> at_boundary(Peer& p, MutableBytes buffer, size_t length, size_t limit,
                                        Instant now);
  SendResult send_fragments(Peer& p, size_t count, Instant now);
  void clamp_inbound(Peer& p, MutableBytes packet);
  std::optional<Transmit> next_fragment();

  // Path probes and the PMTU search (device_probes.cpp).
  void derive_probe_keys(Peer& p);
  void forget_probe_hint(const Peer& p);
  ReceiveResult receive_probe(const Endpoint& from, Bytes datagram, Instant now);
  void answer_ping(Peer& p, const Endpoint& from, const noise::OpenedPathProbe& ping, Instant now);
  ReceiveResult accept_pong(Peer& p, const noise::OpenedPathProbe& pong, Instant now);
  // Starts (or restarts) the search on the peer's endpoint when it is not already there.
  void follow_endpoint(Peer& p, Instant now);
  void start_path(Peer& p, Instant now);
  void stop_path(Peer& p);
  // After any input to the peer's Pmtud: queue its probe, notice a stock peer, update MTUs.
  void after_pmtud(Peer& p, Instant now);
  void update_overlay_mtu(Peer& p, bool black_hole);
  void path_timeouts(Peer& p, Instant now);
  std::optional<Transmit> next_probe(Instant now);
  uint64_t probe_tag(const Peer& p) const { return (uint64_t{p.id} << 32) | p.path.generation; }

  noise::LocalIdentity identity_;
  noise::CookieChecker cookie_checker_;
  size_t mtu_ = 1420;
  int64_t wall_offset_ns_ = 0;
  bool pmtud_enabled_ = false;
  bool mss_clamp_ = true;
  size_t max_path_mtu_ = 1500;

  struct FragmentOut {
    Endpoint to;
    size_t offset = 0;
    size_t length = 0;
  };
  TunBoundary boundary_;
  std::vector<uint8_t> fragment_out_;  // encrypted fragments until poll_transmit takes them
  size_t fragment_used_ = 0;
  std::deque<FragmentOut> fragments_;
  std::vector<uint8_t> ptb_ring_;  // PTBs until poll_tun_write takes them
  std::array<size_t, 16> ptb_lengths_{};
  size_t ptb_head_ = 0;
  size_t ptb_count_ = 0;

  std::unordered_map<PeerId, std::unique_ptr<Peer>> peers_;
  std::unordered_map<uint32_t, PeerId> indices_;  // our receiver indices -> peer
  AllowedIps<PeerId> allowed_ips_;
  PeerId next_peer_id_ = 1;

  std::deque<Pending> pending_;
  std::deque<DeviceEvent> events_;
  std::deque<PeerId> flush_;          // peers whose staged packets may now go out
  std::vector<uint8_t> scratch_;      // poll_transmit's buffer for staged packets and pings
  std::vector<uint8_t> probe_plain_;  // opened probes' plaintext
  std::unordered_map<uint64_t, PeerId> probe_hints_;  // receive hint -> peer
  std::deque<PeerId> probes_due_;                     // peers with a ping to send
  OutstandingProbes outstanding_;
  Pending scratch_pending_;  // poll_transmit's last control message

  bool forced_under_load_ = false;
  Instant load_window_start_{};
  unsigned load_window_count_ = 0;
  std::optional<Instant> under_load_until_;

  DropCounters drops_;
  TrafficCounters totals_;
};

}  // namespace tern::core

// The agent's TURN relay ([Relay], docs/config.md): one allocation on a TURN server (RFC 8656)
// kept by core::TurnClient, on a UDP socket of its own, and the peers (Relay = on) reached
// through it. Their WireGuard messages and path probes leave framed as ChannelData (a Send
// indication until the channel is bound); what the relay hands back enters the device as if
// the peer had sent it. The agent's data path (datapath.cpp) moves the bytes; this class owns
// the socket, the client and the per-peer framing it tells the device about.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "agent/agent.hpp"
#include "agent/relay_stream.hpp"
#include "agent/status.hpp"
#include "base/result.hpp"
#include "config/config.hpp"
#include "core/device.hpp"
#include "core/turn_client.hpp"
#include "io/udp_socket.hpp"
#include "wire/wireguard.hpp"

namespace tern::agent {

// Room a relayed message needs around a WireGuard message (the Send indication's worst case).
inline constexpr size_t kRelayHeadroom = core::kTurnSendHeadroom;
inline constexpr size_t kRelayTailroom = core::kTurnSendTailroom;

// The family of relayed address to ask for (RFC 8656 §7.1: a server allocates IPv4 unless told
// otherwise): IPv6 when every relayed peer is IPv6, IPv4 otherwise. One allocation has one
// family; with peers of both, the IPv6 ones are refused by the server (docs/config.md).
IpAddress::Family relay_family(std::span<const Endpoint> peers);

class RelayLink {
 public:
  // Resolves the server, binds the socket (DF set when `dont_fragment`: the search on the
  // relay leg must see the real path) and starts allocating.
  [[nodiscard]] static Result<std::unique_ptr<RelayLink>> start(const config::RelayConfig& config,
                                                                bool dont_fragment, Instant now,
                                                                WallTime wall);

  // Over TCP/TLS: the stream's epoll set (stable across reconnects); the socket's otherwise.
  int fd() const { return stream_ ? stream_->fd() : socket_->fd(); }
  // TURN over TCP/TLS: the data path takes frames with receive_frames(), not datagrams.
  bool over_stream() const { return stream_.has_value(); }
  const Endpoint& server() const { return server_; }
  // The socket's mark (FwMark); over TCP/TLS, the stream's connections carry it.
  [[nodiscard]] Status set_mark(uint32_t mark) {
    if (!stream_) return socket_->set_mark(mark);
    stream_->set_mark(mark);
    return {};
  }

  // A peer reached through the allocation at `endpoint` (its address as the relay sees it).
  // A peer of another family than the allocation's makes a new allocation (relay_family).
  void add_peer(core::Device& device, core::PeerId id, const Endpoint& endpoint, Instant now);
  // Relay = on is always through the relay: a relayed peer whose endpoint moved in the device
  // (roaming, UAPI) is relayed to its new endpoint; a peer gone from the device is dropped.
  // Runs from after_input(), so on every loop turn.
  void follow_endpoints(core::Device& device, Instant now);
  // Whether messages to this endpoint go through the relay: the data path asks per message.
  bool carries(const Endpoint& to) const;

  // ---- Data path ----
  // `message` lies in a buffer with kRelayHeadroom before it and kRelayTailroom after it; it is
  // framed in place and queued. False (counted in the device) when the relay cannot carry it.
  // A handshake initiation to a peer the relay has no permission for yet is held instead (the
  // latest one per peer) and sent as soon as the permission is installed, rather than lost
  // and retried by WireGuard 5 s later.
  bool queue(core::Device& device, const Endpoint& to, MutableBytes message, Instant now);
  bool batch_full() const { return batch_.full(); }
  // Sends the queued messages; whatever cannot go is counted as send_failed.
  void flush(core::Device& device);

  // What the relay sent: a STUN message or ChannelData. `deliver` gets each WireGuard
  // message's (peer, bytes inside the datagram); the rest goes to the client.
  io::RecvBatch& recv_batch() { return recv_; }
  [[nodiscard]] Result<size_t> receive();
  // Over TCP/TLS: up to frames.size() whole frames off the stream, writable views valid until
  // the next call (RelayStream::pump); then handle_message() on each.
  size_t receive_frames(std::span<MutableBytes> frames, Instant now);
  // One datagram from `from`: relayed data is returned as (peer, bytes inside `datagram`);
  // control messages are consumed, everything else counted as a drop in the device.
  std::optional<std::pair<Endpoint, MutableBytes>> handle_datagram(core::Device& device,
                                                                   const Endpoint& from,
                                                                   MutableBytes datagram,
                                                                   Instant now);
  // The same for a message known to come from the relay (a frame off its stream).
  std::optional<std::pair<Endpoint, MutableBytes>> handle_message(core::Device& device,
                                                                  MutableBytes message,
                                                                  Instant now);

  // After a batch of handle_datagram(): the client's answers and events.
  void after_input(core::Device& device, Instant now);

  // ---- Timers and control messages ----
  std::optional<Instant> poll_timeout() const;
  // Runs the client's timers, sends its requests, applies its events (framing per peer, a new
  // allocation, a failure and the retry after it).
  void on_timer(core::Device& device, Instant now, WallTime wall);

  RelayStatus status(Instant now) const;
  // The family the allocation is asked for (relay_family of the relayed peers).
  IpAddress::Family family() const { return family_; }

 private:
  RelayLink(const config::RelayConfig& config, Endpoint server, std::optional<io::UdpSocket> socket,
            std::optional<RelayStream> stream, Instant now, WallTime wall);
  core::TurnConfig turn_config(WallTime wall) const;
  // A fresh client (a new allocation) for the relayed peers, their framing back to Send.
  void new_client(core::Device& device, Instant now, WallTime wall);
  // relay_link_peers.cpp: the family asked for, held initiations.
  bool choose_family(core::Device& device, Instant now);
  bool hold(const Endpoint& to, Bytes message, Instant now);
  void release_held(core::Device& device, Instant now);
  // One framed message to the relay, on the stream or the socket; false when it did not go.
  [[nodiscard]] bool send_framed(Bytes message);
  void send_control();
  void apply_events(core::Device& device, Instant now);
  // The leg a relayed peer's messages take: ChannelData once `bound`, a Send indication before.
  core::PathLeg leg(const Endpoint& peer, bool bound) const;
  void set_framing(core::Device& device, const Endpoint& peer, bool bound, Instant now);
  // Over TCP: a new connection gets a new allocation; a lost one takes the framing back.
  void on_stream_change(core::Device& device, Instant now, WallTime wall);

  // Room for a held handshake initiation and its framing.
  static constexpr size_t kHeldSize = kRelayHeadroom + wire::kInitiationSize + kRelayTailroom;

  struct RelayedPeer {
    core::PeerId id = 0;
    Endpoint endpoint;
    // The latest handshake initiation waiting for the permission, with the room to frame it
    // (sized once, at add_peer).
    std::vector<uint8_t> held;
    std::optional<Instant> held_at;
  };

  config::RelayConfig config_;
  Endpoint server_;
  std::optional<io::UdpSocket> socket_;  // over UDP
  std::unique_ptr<core::TurnClient> client_;
  std::vector<RelayedPeer> peers_;
  io::SendBatch batch_;
  std::vector<Endpoint> batch_peers_;  // the peer of each batch_ entry (sized once)
  io::SendBatch control_;
  io::RecvBatch recv_;
  std::optional<Instant> retry_at_;  // after a terminal failure: a fresh allocation then
  std::string last_error_;
  std::optional<RelayStream> stream_;  // TURN over TCP or TLS (?transport=tcp, turns:)
  IpAddress::Family family_ = IpAddress::Family::kV4;
};

// Receives what the relay's socket has (a few batches at most): answers go to the client,
// relayed WireGuard messages through the device to the TUN (defined in datapath.cpp).
void pump_relay(Agent::State& s, Instant now);

}  // namespace tern::agent

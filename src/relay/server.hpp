// The core of `tern relay`, sans-I/O: a STUN Binding responder (RFC 8489, with
// RFC 5780 behaviour discovery when a second address is configured) and a TURN
// server (RFC 8656) with long-term and TURN REST credentials, quotas, peer
// address policy and per-allocation rate limits. It never touches a socket or a
// clock: the I/O layer passes each message in with `now`, sends what comes back,
// and opens or closes a UDP socket per allocation when RelayPortAllocator asks.
//
// Client side (a UDP datagram, or one frame of a TCP/TLS stream):
//   handle_client(5-tuple, bytes, now)
//     STUN request -> 420 for attributes it does not know -> Binding: answer
//       (RFC 5780: CHANGE-REQUEST from the other address, RESPONSE-PORT to another port)
//       | TURN method -> authenticate (401 challenge, 438 stale nonce) -> Allocate,
//         Refresh, CreatePermission or ChannelBind -> the response to send back
//     Send indication / ChannelData -> allocation, permission, rate limit
//       -> the payload to send from the relayed address to the peer (a view into
//          `bytes`, nothing copied)
// Peer side (a datagram that arrived on a relayed address):
//   handle_peer(relayed, peer, buffer, length, now) -> allocation, permission,
//     rate limit -> ChannelData (when a channel is bound to that peer) or a Data
//     indication, its header written in place in front of the payload
// Timers: handle_timeout(now) at poll_timeout() ends expired allocations.
// Every refused request and dropped packet is counted (metrics.hpp).
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "base/bytes.hpp"
#include "base/ip.hpp"
#include "base/result.hpp"
#include "base/time.hpp"
#include "relay/allocation.hpp"
#include "relay/auth.hpp"
#include "relay/five_tuple.hpp"
#include "relay/metrics.hpp"
#include "relay/peer_policy.hpp"
#include "relay/quota.hpp"
#include "relay/relay_config.hpp"
#include "wire/stun.hpp"
#include "wire/stun_builder.hpp"

namespace tern::relay {

// handle_peer() needs this much room before the payload (a Data indication's
// header with an IPv6 XOR-PEER-ADDRESS: 20 + 24 + 4) and after it (padding to 4).
inline constexpr size_t kPeerHeadroom = 48;
inline constexpr size_t kPeerTailroom = 3;

struct Transmit {
  enum class Source : uint8_t {
    kListener,  // send on the listener `from` (for TCP/TLS: the connection to `to`)
    kRelay,     // send on the relay socket bound to `from`, over UDP
  };
  Source source = Source::kListener;
  Transport transport = Transport::kUdp;
  Endpoint from;
  Endpoint to;
  Bytes data;  // in the caller's buffer or the server's; valid until the next call
};

struct RelaySocketRequest {
  AllocationId id = 0;
  IpAddress::Family family = IpAddress::Family::kV4;
  bool dont_fragment = false;  // the client sent DONT-FRAGMENT: set DF on the socket
  bool even_port = false;      // the client sent EVEN-PORT: the port must be even
  FiveTuple client;
  std::string_view username;  // valid during the call only
};

// Implemented by the I/O layer (and by tests): relayed transport addresses.
class RelayPortAllocator {
 public:
  virtual ~RelayPortAllocator() = default;
  // Opens a UDP socket for a new allocation; returns the address the server
  // announces for it (XOR-RELAYED-ADDRESS) and later names it by in
  // handle_peer(), or nullopt when none is free (the client gets 508). An odd
  // port for an even_port request is closed again and refused the same way.
  virtual std::optional<Endpoint> open(const RelaySocketRequest& request) = 0;
  // The allocation ended: close its socket.
  virtual void close(AllocationId id, const Endpoint& relayed) = 0;
};

// A read-only view of an allocation, for status pages and tests.
struct AllocationInfo {
  AllocationId id = 0;
  FiveTuple tuple;
  Endpoint relayed;
  std::string username;
  Instant expires;
  size_t permissions = 0;  // live ones
  size_t channels = 0;     // active ones
};

// How a response is signed: with the key of the authenticated request, or not at all.
struct ReplySigning {
  const crypto::Md5Digest* key = nullptr;
  bool sha256 = false;  // MESSAGE-INTEGRITY-SHA256, as the request used
};

class RelayServer {
 public:
  // Fails, naming the setting, on a configuration validate() refuses. The nonce
  // key is random unless given (tests give one; cores sharing clients share one). Without
  // `quota` the server keeps its own ledger of config.max_allocations and user_quota;
  // cores of one relay pass the same ledger (which must outlive them) so the bounds hold
  // across them.
  [[nodiscard]] static Result<std::unique_ptr<RelayServer>> create(
      RelayConfig config, RelayPortAllocator& ports,
      std::optional<std::array<uint8_t, kNonceKeySize>> nonce_key = std::nullopt,
      AllocationQuota* quota = nullptr);
  ~RelayServer();
  RelayServer(const RelayServer&) = delete;
  RelayServer& operator=(const RelayServer&) = delete;

  // Relates the monotonic clock to wall time, for TURN REST expiry; until it is
  // called, REST credentials are never considered expired.
  void set_wall_clock(WallTime wall, Instant mono);

  // A message from a client: a STUN message or ChannelData.
  [[nodiscard]] std::optional<Transmit> handle_client(const FiveTuple& from, Bytes message,
                                                      Instant now);
  // A datagram from `peer` that arrived on the relayed address `relayed`. The
  // payload is buffer[kPeerHeadroom, kPeerHeadroom + length), with kPeerTailroom
  // bytes after it; the message for the client is written around it in place.
  [[nodiscard]] std::optional<Transmit> handle_peer(const Endpoint& relayed, const Endpoint& peer,
                                                    MutableBytes buffer, size_t length,
                                                    Instant now);
  // A TCP/TLS connection closed: its allocation ends with it (RFC 8656).
  void connection_closed(const FiveTuple& tuple);

  void handle_timeout(Instant now);
  std::optional<Instant> poll_timeout() const { return next_sweep_; }

  const RelayCounters& counters() const { return counters_; }
  std::string metrics_text() const { return render_prometheus(counters_); }
  size_t allocation_count() const { return allocations_.size(); }
  std::optional<AllocationInfo> allocation(const FiveTuple& tuple, Instant now) const;

 private:
  using Signing = ReplySigning;
  using AllocationMap = std::unordered_map<FiveTuple, std::unique_ptr<Allocation>, FiveTupleHash>;

  RelayServer(RelayConfig config, RelayPortAllocator& ports,
              const std::array<uint8_t, kNonceKeySize>& nonce_key, AllocationQuota* quota);

  // server.cpp: dispatch, Binding, timers.
  std::optional<Transmit> handle_request(const FiveTuple& t, const wire::StunMessage& m,
                                         Instant now);
  std::optional<Transmit> handle_indication(const FiveTuple& t, const wire::StunMessage& m,
                                            Instant now);
  std::optional<Transmit> binding(const FiveTuple& t, const wire::StunMessage& m);
  std::optional<Transmit> turn_request(const FiveTuple& t, const wire::StunMessage& m, Instant now);
  int64_t unix_seconds(Instant now) const;
  void schedule_sweep(Instant at);

  // server_allocate.cpp: Allocate and Refresh, allocation lifecycle.
  std::optional<Transmit> allocate(const FiveTuple& t, const wire::StunMessage& m,
                                   const AuthResult& auth, Instant now);
  std::optional<Transmit> allocate_success(const FiveTuple& t, const wire::StunMessage& m,
                                           const Allocation& a, Signing s, Instant now);
  std::optional<Transmit> refresh(const FiveTuple& t, const wire::StunMessage& m,
                                  const AuthResult& auth, Instant now);
  Duration desired_lifetime(uint32_t requested_seconds) const;
  // The allocation of `t` unless it has expired (then it is ended here).
  Allocation* live_allocation(const FiveTuple& t, Instant now);
  void end_allocation(AllocationMap::iterator it, bool expired);
  // 437 without an allocation, 441 for another user's; nullptr after answering in `out`.
  Allocation* owned_allocation(const FiveTuple& t, const wire::StunMessage& m,
                               const AuthResult& auth, Instant now, std::optional<Transmit>& out);

  // server_peers.cpp: CreatePermission and ChannelBind.
  std::optional<Transmit> create_permission(const FiveTuple& t, const wire::StunMessage& m,
                                            const AuthResult& auth, Instant now);
  std::optional<Transmit> channel_bind(const FiveTuple& t, const wire::StunMessage& m,
                                       const AuthResult& auth, Instant now);
  // 443 or 403 for a peer the allocation may not reach, nullopt when it may.
  std::optional<Transmit> refuse_peer(const FiveTuple& t, const wire::StunMessage& m,
                                      const Allocation& a, const IpAddress& peer, Signing s);

  // server_data.cpp: the data path.
  std::optional<Transmit> send_indication(const FiveTuple& t, const wire::StunMessage& m,
                                          Instant now);
  std::optional<Transmit> channel_data(const FiveTuple& t, Bytes message, Instant now);
  wire::TransactionId next_indication_id();

  // server_reply.cpp: responses in reply_.
  wire::StunBuilder start_reply(const wire::StunMessage& request, wire::StunClass cls);
  std::optional<Transmit> finish_reply(wire::StunBuilder& b, const FiveTuple& t,
                                       const wire::StunMessage& request, Signing s,
                                       std::optional<Endpoint> from = std::nullopt,
                                       std::optional<Endpoint> to = std::nullopt);
  std::optional<Transmit> success(const FiveTuple& t, const wire::StunMessage& request, Signing s);
  // Counts `why` and answers with the error.
  std::optional<Transmit> error(const FiveTuple& t, const wire::StunMessage& request, uint16_t code,
                                std::string_view reason, RelayDrop why, Signing s = {});
  // 401 or 438 with REALM and a fresh NONCE.
  std::optional<Transmit> challenge(const FiveTuple& t, const wire::StunMessage& request,
                                    uint16_t code, std::string_view reason, Instant now);
  std::optional<Transmit> unknown_attributes(const FiveTuple& t, const wire::StunMessage& request,
                                             std::span<const uint16_t> types);
  std::optional<Transmit> drop(RelayDrop why) {
    counters_.drop(why);
    return std::nullopt;
  }

  RelayConfig config_;
  RelayPortAllocator& ports_;
  Authenticator auth_;
  PeerPolicy policy_;
  RelayCounters counters_;

  AllocationMap allocations_;
  std::unordered_map<Endpoint, Allocation*, EndpointHash> by_relay_;
  std::unique_ptr<LocalQuota> own_quota_;  // when no shared ledger was given
  AllocationQuota* quota_;
  AllocationId next_id_ = 1;

  std::optional<Instant> next_sweep_;
  int64_t wall_offset_ns_ = 0;
  bool wall_known_ = false;

  std::vector<uint8_t> reply_;                  // responses are built here
  std::vector<IpAddress> peers_;                // CreatePermission's addresses, reused
  std::array<uint8_t, 4> indication_prefix_{};  // Data indication transaction IDs:
  uint64_t indication_counter_ = 0;             // a random prefix and a counter
};

}  // namespace tern::relay

// A TURN client (RFC 8656), sans-I/O: one allocation on one server. It makes the
// STUN requests (Allocate, Refresh, CreatePermission, ChannelBind), answers the
// long-term-credential challenge (401, 438), resends over UDP per RFC 8489 §6.2.1,
// keeps the allocation, permissions and channels alive, and frames peer data as
// Send indications until a channel is bound, then as ChannelData. The caller moves
// the bytes: over UDP each message is one datagram to the server, over TCP/TLS
// each is one frame on the stream (wire/stun_tcp_framing.hpp splits received
// ones). Time is passed in; nothing here reads a clock or touches a socket.
//
// State (docs/turn-client.md has the diagram and the timings):
//   Allocating --success--> Allocated --close()--> Closing --> Closed
//       |  401: answer the challenge; 438: new nonce; 437: Refresh(0), allocate again
//       +--error/timeout--> Failed (an event names the cause and the fix)
//   Allocated --437 on a refresh--> AllocationLost event, Allocating again
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <variant>
#include <vector>

#include "base/bytes.hpp"
#include "base/drop_reason.hpp"
#include "base/ip.hpp"
#include "base/time.hpp"
#include "core/stun_transaction.hpp"
#include "core/turn_credentials.hpp"
#include "core/turn_errors.hpp"
#include "wire/stun.hpp"

namespace tern::core {

// RFC 8656: allocations live 10 minutes unless the server says otherwise,
// permissions 5 minutes (§9), channel bindings 10 minutes (§12).
inline constexpr Duration kTurnDefaultLifetime = std::chrono::seconds(600);
inline constexpr Duration kPermissionLifetime = std::chrono::seconds(300);
inline constexpr Duration kPermissionRefresh = std::chrono::seconds(240);
inline constexpr Duration kChannelLifetime = std::chrono::seconds(600);
inline constexpr Duration kChannelRefresh = std::chrono::seconds(540);
// After a channel binding expires its number may not be bound to another peer for this long.
inline constexpr Duration kChannelReuseDelay = std::chrono::seconds(300);
// A permission or channel the server refused (other than 403) is asked for again after this.
inline constexpr Duration kPeerRetryDelay = std::chrono::seconds(60);
// 438 Stale Nonce answers in a row before the client gives up.
inline constexpr unsigned kMaxStaleNonce = 3;

// The allocation is refreshed this long before it expires: a fifth of the
// lifetime, at least a minute when the lifetime allows (480 s into 600 s).
Duration turn_refresh_margin(Duration lifetime);

// send_to(): room before the payload for a Send indication's STUN header,
// XOR-PEER-ADDRESS (IPv6) and DATA header, and after it for padding to 4.
inline constexpr size_t kTurnSendHeadroom = 20 + 4 + 20 + 4;
inline constexpr size_t kTurnSendTailroom = 3;

struct TurnConfig {
  std::string server_host;  // as the user named it, for messages
  uint16_t server_port = 3478;
  StunTransport transport = StunTransport::kUdp;
  TurnCredentials credentials;
  // Family of the relayed address; REQUESTED-ADDRESS-FAMILY is sent for IPv6.
  IpAddress::Family family = IpAddress::Family::kV4;
  std::optional<uint32_t> lifetime_seconds;  // LIFETIME to ask for; the server's default otherwise
  RetransmitPolicy retransmit;
  std::string software = "tern";
};

// ---- Events (poll_event) ----
struct TurnAllocated {
  Endpoint relayed;
  std::optional<Endpoint> mapped;  // the server-reflexive address, when the server says it
  Duration lifetime{};
};
struct TurnRefreshed {
  Duration lifetime{};
};
struct TurnPermissionCreated {
  IpAddress peer;
};
struct TurnChannelBound {
  Endpoint peer;
  uint16_t channel = 0;
};
// A permission or channel for this peer was refused or timed out. After 403 the
// peer stays refused (data to it is dropped as relay_denied); otherwise the client
// asks again, and data goes as Send indications meanwhile.
struct TurnPeerFailed {
  Endpoint peer;
  TurnError error;
};
// The server lost the allocation (437): the client allocates again, and a new
// TurnAllocated (with a new relayed address) follows.
struct TurnAllocationLost {
  TurnError error;
};
// Terminal: the client does nothing more.
struct TurnFailed {
  TurnError error;
};
struct TurnClosed {
  std::string note;  // empty when the server confirmed the deletion
};
using TurnEvent =
    std::variant<TurnAllocated, TurnRefreshed, TurnPermissionCreated, TurnChannelBound,
                 TurnPeerFailed, TurnAllocationLost, TurnFailed, TurnClosed>;

// What handle_input() made of a message from the server. Relayed data is
// delivered here rather than through poll_event(), as a view into the input, so
// the data path neither copies nor allocates.
struct TurnReceive {
  enum class Kind : uint8_t { kData, kConsumed, kDropped };
  Kind kind = Kind::kDropped;
  Endpoint peer;        // kData: who sent it to the relayed address
  Bytes payload;        // kData: inside the input message
  DropReason reason{};  // kDropped (also counted in drops())
};

struct TurnSend {
  bool ok() const { return !message.empty(); }
  Bytes message;        // the framed message inside the caller's buffer, for the server
  DropReason reason{};  // when !ok() (also counted in drops())
};

class TurnClient {
 public:
  // Starts allocating: the first Allocate is ready in poll_transmit().
  TurnClient(TurnConfig config, Instant now);

  // Relates the monotonic clock to wall time, so an expired TURN REST username can
  // be told from a wrong secret (clock skew).
  void set_wall_clock(WallTime wall, Instant mono);

  // ---- Peers ----
  // Asks for a permission for the peer's address and a channel for the peer, now
  // or once allocated; both are refreshed until remove_peer(). send_to() adds a
  // peer it does not know.
  void add_peer(const Endpoint& peer, Instant now);
  void remove_peer(const Endpoint& peer);

  // Deletes the allocation (Refresh with LIFETIME 0); TurnClosed follows.
  void close(Instant now);

  // ---- The core verbs ----
  // One STUN message or ChannelData message from the server.
  TurnReceive handle_input(Bytes message, Instant now);
  // A message that came from another address or port than the server's. It is never acted on;
  // when it carries an outstanding request's transaction ID it is counted as an unusable answer
  // (a timeout then says where the answers came from).
  void handle_wrong_source(Bytes message, const Endpoint& from);
  void handle_timeout(Instant now);
  std::optional<Instant> poll_timeout() const;
  // The next message for the server; valid until the next call into the client.
  std::optional<Bytes> poll_transmit();
  std::optional<TurnEvent> poll_event();

  // ---- Data path ----
  // `buffer` holds the payload at [kTurnSendHeadroom, kTurnSendHeadroom + length)
  // with kTurnSendTailroom bytes after it; the message is framed in place around it.
  TurnSend send_to(const Endpoint& peer, MutableBytes buffer, size_t length, Instant now);

  // ---- State ----
  std::string_view state_name() const;  // "allocating", "allocated", "closing", "closed", "failed"
  bool is_allocated() const;
  std::optional<Endpoint> relayed_address() const;
  std::optional<Endpoint> mapped_address() const;
  std::optional<Instant> allocation_expires() const;
  // The channel bound to this peer, if it is bound and unexpired.
  std::optional<uint16_t> bound_channel(const Endpoint& peer, Instant now) const;
  bool has_permission(const IpAddress& peer, Instant now) const;
  const TurnError* failure() const;
  const DropCounters& drops() const { return drops_; }
  // Every answer to its requests the client discarded, over its life.
  const TurnUnusableAnswers& unusable_answers() const { return unusable_; }
  const TurnConfig& config() const { return config_; }

 private:
  enum class Request : uint8_t {
    kAllocate,
    kRefresh,
    kDelete,  // Refresh with LIFETIME 0 to clear a 437 before allocating again
    kClose,   // Refresh with LIFETIME 0 on close()
    kPermission,
    kChannelBind,
  };

  struct Transaction {
    wire::TransactionId id{};
    Request request = Request::kAllocate;
    Endpoint peer;         // kPermission (its address counts), kChannelBind
    uint16_t channel = 0;  // kChannelBind
    bool authenticated = false;
    unsigned stale_nonces = 0;  // 438s answered so far on the way to this request
    StunRetransmit timer;
    std::vector<uint8_t> message;
    TurnUnusableAnswers unusable;  // answers to it discarded so far
  };

  // ---- States ----
  struct Allocating {
    bool mismatch_cleared = false;  // a 437 was already answered with Refresh(0)
  };
  struct Allocated {
    Endpoint relayed;
    std::optional<Endpoint> mapped;
    Duration lifetime{};
    Instant expires{};
    Instant refresh_at{};
  };
  struct Closing {};
  struct Closed {};
  struct Failed {
    TurnError error;
  };
  using State = std::variant<Allocating, Allocated, Closing, Closed, Failed>;

  // One per peer address. `due` is when to send the next CreatePermission.
  struct Permission {
    unsigned users = 0;  // peers (endpoints) on this address
    bool refused = false;
    bool in_flight = false;
    bool announced = false;
    Instant due{};
    Instant expires{};  // default: never installed
  };
  // One per peer endpoint.
  struct Channel {
    uint16_t number = 0;
    bool in_flight = false;
    bool announced = false;
    Instant due{};
    Instant expires{};
  };

  // Requests (turn_client_requests.cpp).
  static wire::StunMethod method_of(Request request);
  void send_request(Request request, Instant now, const Endpoint& peer = {}, uint16_t channel = 0,
                    unsigned stale_nonces = 0);
  void resend_with_new_transaction(const Transaction& t, Instant now, unsigned stale_nonces);
  TurnErrorContext context(Request request, const Endpoint& peer = {}) const;

  // Responses (turn_client_responses.cpp).
  enum class Unusable : uint8_t { kMalformed, kWrongSource, kUnexpected };
  Transaction* outstanding_with_id(Bytes raw);
  void note_unusable(Transaction& t, Unusable why, std::string what);
  TurnReceive receive_response(const wire::StunMessage& m, Instant now);
  void on_success(const Transaction& t, const wire::StunMessage& m, Instant now);
  void on_error(const Transaction& t, const wire::StunMessage& m, uint16_t code,
                std::string_view reason, Instant now);
  void on_peer_error(const Transaction& t, const TurnError& error, uint16_t code, Instant now);
  void on_timeout(const Transaction& t, Instant now);
  void on_allocated(const Transaction& t, const wire::StunMessage& m, Instant now);

  // Transitions.
  void fail(TurnError error);
  void lose_allocation(TurnError error, Instant now);
  void finish_close(std::string note);

  // Peers (turn_client_peers.cpp).
  void refuse_peer_address(const IpAddress& address, const TurnError& error);
  void reset_peers();
  void send_due_peer_requests(Instant now);
  uint16_t next_channel_number();
  bool channel_number_taken(uint16_t number) const;
  std::optional<Instant> next_peer_deadline() const;

  // Data (turn_client_data.cpp).
  TurnReceive receive_channel_data(Bytes message);
  TurnReceive receive_indication(const wire::StunMessage& m);
  TurnReceive dropped(DropReason reason);
  TurnSend send_dropped(DropReason reason);

  std::optional<int64_t> local_unix(Instant now) const;

  TurnConfig config_;
  LongTermAuth auth_;
  State state_;
  std::vector<Transaction> outstanding_;
  std::map<IpAddress, Permission> permissions_;
  std::map<Endpoint, Channel> channels_;
  std::unordered_map<uint16_t, Endpoint> channel_peers_;
  // A removed peer's channel stays bound on the server until it expires, and its
  // number may not go to another peer for 5 minutes more (RFC 8656 §12): the peer
  // gets it back if added again, and nobody else gets it until then.
  struct Retired {
    uint16_t number = 0;
    Instant until{};
  };
  std::map<Endpoint, Retired> retired_channels_;
  uint16_t next_channel_ = 0;  // offset from 0x4000 of the next number to try
  std::optional<int64_t> wall_offset_ns_;

  std::deque<std::vector<uint8_t>> transmits_;
  std::vector<uint8_t> current_transmit_;
  std::deque<TurnEvent> events_;
  DropCounters drops_;
  TurnUnusableAnswers unusable_;
};

}  // namespace tern::core

// ControlLink's state, shared by its two halves: control_link.cpp drives the connection
// (resolve, connect, TLS, register, stream upgrade, backoff) and control_link_stream.cpp
// handles what an open stream carries (maps and deltas, pings, endpoint reports, greetings).
// Internal to agent/.
#pragma once

#include <array>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "agent/agent_state.hpp"
#include "agent/control_endpoints.hpp"
#include "agent/control_link.hpp"
#include "agent/control_stun.hpp"
#include "control/agent_backoff.hpp"
#include "control/agent_http.hpp"
#include "control/agent_map.hpp"
#include "control/websocket.hpp"
#include "crypto/random.hpp"
#include "io/resolver.hpp"
#include "io/tcp_stream.hpp"
#include "io/tls_context.hpp"
#include "io/tls_stream.hpp"

namespace tern::agent {

inline constexpr Duration kConnectTimeout = 10s;   // connect, TLS and the answer's head
inline constexpr Duration kPingInterval = 20s;     // on an idle stream
inline constexpr Duration kSilenceLimit = 65s;     // nothing heard for this long: reconnect
inline constexpr Duration kEndpointsCheck = 30s;   // host addresses looked at again
inline constexpr Duration kGreetingRetry = 700ms;  // renew_handshake() for a peer still silent

enum class LinkPhase : uint8_t {
  kWaiting,
  kResolving,
  kConnecting,
  kTls,
  kSending,
  kHead,
  kBody,
  kStream,
  kDone
};

struct ControlLink::Impl {
  ControlOptions options;
  ControlState state;
  control::ControlUrl url;
  std::optional<io::TlsContext> tls_ctx;
  crypto::Key public_key{};
  control::MapFollower follower;
  control::Backoff backoff;
  std::vector<IpPrefix> applied_addresses;
  std::optional<int64_t> map_received_unix;
  std::string last_error;
  // The server's name is looked up off the loop (io/resolver.hpp), whose fd shares
  // kTokenControl with the connection's socket. Made at the first name to look up.
  std::optional<io::Resolver> resolver;
  std::optional<uint64_t> resolving;  // the lookup in flight, kept across a timed-out attempt
  // The server-reflexive address: the map's relays (host:port), resolved, asked by `stun`.
  ReflexiveProbe stun;
  std::vector<std::string> relay_hosts;
  std::vector<std::pair<uint64_t, std::string>> relay_lookups;  // names in flight
  std::vector<Endpoint> relay_addresses;
  std::optional<Endpoint> reflexive;  // the last one reported

  // The connection.
  LinkPhase phase = LinkPhase::kWaiting;
  bool registering = false;
  std::optional<io::TcpStream> tcp;
  std::optional<io::TlsStream> tls;
  int fd = -1;
  io::IoWait wait = io::IoWait::kNone;
  std::string out;
  size_t out_sent = 0;
  std::string in;
  std::string ws_key;
  control::HttpResponseHead head;
  Instant retry_at{};
  Instant deadline{};

  // The stream.
  Instant last_heard{};
  Instant next_ping{};
  Instant next_endpoints{};
  std::vector<Endpoint> reported;
  std::vector<std::pair<crypto::Key, Instant>> greeted;  // peers added, when to look again

  Impl(ControlOptions o, ControlState st, control::ControlUrl u, crypto::Key pub)
      : options(std::move(o)),
        state(std::move(st)),
        url(std::move(u)),
        public_key(pub),
        follower(pub, state.map) {
    if (state.map) map_received_unix = state.map_saved_unix;
  }

  Result<io::IoResult> read(MutableBytes b) { return tls ? tls->read(b) : tcp->read(b); }
  Result<io::IoResult> write(Bytes b) { return tls ? tls->write(b) : tcp->write(b); }

  // control_link.cpp: the connection's phases.
  void close(Agent::State& s);
  void failed(Agent::State& s, Instant now, const std::string& why);
  void connect(Agent::State& s, Instant now);
  void take_answers(Agent::State& s, Instant now);
  Status ensure_resolver(Agent::State& s);
  void open(Agent::State& s, Instant now, const Endpoint& ep);
  // One step of the current phase; false when it has to wait for the socket.
  bool step(Agent::State& s, Instant now, WallTime wall);
  bool read_some(Agent::State& s, Instant now, bool& closed);
  bool on_head(Agent::State& s, Instant now);
  void on_registered(Agent::State& s, Instant now, WallTime wall);
  void drive(Agent::State& s, Instant now, WallTime wall);
  std::optional<Instant> link_timeout() const;

  // control_link_stream.cpp: the open stream.
  std::vector<Endpoint> endpoints(Agent::State& s) const;
  void on_stream_open(Instant now);
  bool on_frames(Agent::State& s, Instant now, WallTime wall);
  void on_update(Agent::State& s, const control::MapFollower::Update& u, Instant now,
                 WallTime wall);
  void on_stream_timer(Agent::State& s, Instant now, WallTime wall);
  std::optional<Instant> stream_timeout() const;
  void retry_greetings(Agent::State& s, Instant now);
  std::optional<Instant> greeting_timeout() const;
  // The map's relays changed: look them up, ask the new ones for our address.
  void on_relays(Agent::State& s, const control::NetworkMap& map, Instant now);
  void stun_timer(Agent::State& s, Instant now);
  void note_reflexive(Instant now);  // a changed address is reported at once
  void send_frame(control::WsOpcode op, std::string_view payload) {
    std::array<uint8_t, 4> mask{};
    crypto::random_bytes(mask);
    out += control::encode_ws_frame(op, payload, mask);
  }
};

}  // namespace tern::agent

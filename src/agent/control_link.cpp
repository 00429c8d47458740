// The control connection's steps. One connection at a time, in one of these phases:
//   waiting  -> (retry time) -> connecting -> TLS handshake -> sending the request
//   -> reading the answer's head -> register: reading its body, then a new connection
//                                -> stream: 101, then WebSocket frames until it ends
// Any failure closes the connection and waits (Backoff) before the next attempt.
#include "agent/control_link.hpp"

#include <array>
#include <variant>

#include "agent/agent_state.hpp"
#include "agent/control_apply.hpp"
#include "agent/control_endpoints.hpp"
#include "agent/resolve.hpp"
#include "base/log.hpp"
#include "control/agent_backoff.hpp"
#include "control/agent_http.hpp"
#include "control/agent_messages.hpp"
#include "control/websocket.hpp"
#include "crypto/key_encoding.hpp"
#include "crypto/random.hpp"
#include "crypto/x25519.hpp"
#include "io/tcp_stream.hpp"
#include "io/tls_stream.hpp"

namespace tern::agent {
namespace {

constexpr Duration kConnectTimeout = 10s;  // connect, TLS and the answer's head
constexpr Duration kPingInterval = 20s;    // on an idle stream
constexpr Duration kSilenceLimit = 65s;    // nothing heard for this long: reconnect
constexpr Duration kEndpointsCheck = 30s;  // host addresses looked at again
constexpr size_t kReadChunk = 16384;
constexpr Duration kGreetingRetry = 700ms;  // renew_handshake() for a peer still silent

enum class Phase : uint8_t { kWaiting, kConnecting, kTls, kSending, kHead, kBody, kStream, kDone };

std::string_view phase_name(Phase p, bool registering) {
  switch (p) {
    case Phase::kWaiting:
      return "waiting";
    case Phase::kStream:
      return "connected";
    case Phase::kDone:
      return "stopped";
    default:
      return registering ? "registering" : "connecting";
  }
}

}  // namespace

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

  // The connection.
  Phase phase = Phase::kWaiting;
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

  void close(Agent::State& s) {
    if (fd >= 0) s.poller.remove(fd);
    if (tls) tls->shutdown();
    tls.reset();
    tcp.reset();
    fd = -1;
    wait = io::IoWait::kNone;
    out.clear();
    out_sent = 0;
    in.clear();
  }

  void failed(Agent::State& s, Instant now, const std::string& why) {
    close(s);
    if (why != last_error) log::warn("control: {}: {}", options.url, why);
    last_error = why;
    phase = Phase::kWaiting;
    retry_at = now + backoff.next(crypto::random_u32());
  }

  std::vector<Endpoint> endpoints(Agent::State& s) const {
    std::vector<IpPrefix> overlay;
    if (const auto& m = follower.map()) overlay = {m->v4, m->v6};
    return host_endpoints(s.name, s.udp.local_port(), overlay);
  }

  void connect(Agent::State& s, Instant now) {
    registering = state.stream_token.empty();
    if (registering && options.setup_key.empty()) {
      last_error = "not registered and no setup key; run tern up with --setup-key KEY";
      log::error("control: {}: {}", options.url, last_error);
      phase = Phase::kDone;
      return;
    }
    auto ep = resolve_endpoint(url.host_port);
    if (!ep) return failed(s, now, ep.error().message);
    auto stream = io::TcpStream::connect(*ep);
    if (!stream) return failed(s, now, stream.error().message);
    tcp.emplace(std::move(*stream));
    fd = tcp->fd();
    if (auto st = s.poller.add(fd, kTokenControl, false, true); !st) {
      return failed(s, now, st.error().message);
    }
    wait = io::IoWait::kWrite;
    phase = Phase::kConnecting;
    deadline = now + kConnectTimeout;
    if (registering) {
      out = control::register_http_request(
          url.host_port, control::register_request_json(options.setup_key, public_key, options.name,
                                                        endpoints(s)));
    } else {
      std::array<uint8_t, 16> nonce{};
      crypto::random_bytes(nonce);
      ws_key = control::ws_client_key(nonce);
      out = control::stream_http_request(url.host_port, state.stream_token, ws_key);
    }
  }

  // One step of the current phase; false when it has to wait for the socket.
  bool step(Agent::State& s, Instant now, WallTime wall);
  static std::optional<Instant> link_timeout(const Impl& m);
  bool read_some(Agent::State& s, Instant now, bool& closed);
  bool on_head(Agent::State& s, Instant now);
  void on_registered(Agent::State& s, Instant now, WallTime wall);
  bool on_frames(Agent::State& s, Instant now, WallTime wall);
  void on_update(Agent::State& s, const control::MapFollower::Update& u, Instant now,
                 WallTime wall);
  void send_frame(control::WsOpcode op, std::string_view payload) {
    std::array<uint8_t, 4> mask{};
    crypto::random_bytes(mask);
    out += control::encode_ws_frame(op, payload, mask);
  }
  void drive(Agent::State& s, Instant now, WallTime wall) {
    for (int i = 0; i < 4096 && phase != Phase::kWaiting && phase != Phase::kDone; ++i) {
      if (!step(s, now, wall)) break;
    }
    if (fd >= 0) {
      const bool want_write = wait == io::IoWait::kWrite || out_sent < out.size();
      (void)s.poller.modify(fd, kTokenControl, wait != io::IoWait::kWrite, want_write);
    }
  }
};

bool ControlLink::Impl::step(Agent::State& s, Instant now, WallTime wall) {
  switch (phase) {
    case Phase::kConnecting: {
      auto done = tcp->finish_connect();
      if (!done) return failed(s, now, done.error().message), false;
      if (!*done) return false;
      if (url.tls) {
        auto t = io::TlsStream::client(*tls_ctx, std::move(*tcp), url.host);
        tcp.reset();
        if (!t) return failed(s, now, t.error().message), false;
        tls.emplace(std::move(*t));
        phase = Phase::kTls;
      } else {
        phase = Phase::kSending;
      }
      return true;
    }
    case Phase::kTls: {
      auto r = tls->handshake();
      if (!r) return failed(s, now, r.error().message), false;
      wait = r->wait;
      if (r->would_block()) return false;
      phase = Phase::kSending;
      return true;
    }
    case Phase::kSending:
    case Phase::kStream:
      if (out_sent < out.size()) {
        auto w = write(
            Bytes(reinterpret_cast<const uint8_t*>(out.data()) + out_sent, out.size() - out_sent));
        if (!w) return failed(s, now, w.error().message), false;
        wait = w->wait;
        if (w->would_block()) return false;
        out_sent += w->bytes;
        if (out_sent == out.size()) out.clear(), out_sent = 0;
        return true;
      }
      if (phase == Phase::kSending) {
        phase = Phase::kHead;
        return true;
      }
      [[fallthrough]];
    case Phase::kHead:
    case Phase::kBody: {
      bool closed = false;
      if (!read_some(s, now, closed)) return false;
      if (phase == Phase::kHead) {
        if (!on_head(s, now)) return phase != Phase::kWaiting;
      }
      if (phase == Phase::kBody) {
        if ((head.has_content_length && in.size() >= head.content_length) || closed) {
          on_registered(s, now, wall);
        }
        return phase == Phase::kBody && !closed;
      }
      if (phase == Phase::kStream) {
        if (!on_frames(s, now, wall)) return false;
        if (closed) return failed(s, now, "the server closed the stream"), false;
      }
      return phase != Phase::kWaiting;
    }
    case Phase::kWaiting:
    case Phase::kDone:
      return false;
  }
  return false;
}

bool ControlLink::Impl::read_some(Agent::State& s, Instant now, bool& closed) {
  std::array<uint8_t, kReadChunk> buf;
  auto r = read(buf);
  if (!r) return failed(s, now, r.error().message), false;
  if (r->closed) {
    closed = true;
    if (phase == Phase::kHead) return failed(s, now, "the server closed the connection"), false;
    return true;
  }
  wait = r->wait;
  if (r->would_block()) return false;
  in.append(reinterpret_cast<const char*>(buf.data()), r->bytes);
  last_heard = now;
  if (in.size() > control::kMaxResponseBody + control::kMaxResponseHead) {
    return failed(s, now, "the server's answer is too large"), false;
  }
  return true;
}

bool ControlLink::Impl::on_head(Agent::State& s, Instant now) {
  const auto p = control::parse_http_response_head(in, head);
  if (p.result == control::ResponseParse::kIncomplete) return false;
  if (p.result == control::ResponseParse::kBad) {
    return failed(s, now, "the server's answer is not HTTP"), false;
  }
  in.erase(0, p.consumed);
  if (registering) {
    if (head.status != 200 && head.status != 201) {
      // Wait for the body to say why; Connection: close ends it.
      phase = Phase::kBody;
      return true;
    }
    phase = Phase::kBody;
    return true;
  }
  if (head.status == 401 || head.status == 403) {
    // The token is no longer valid (another registration replaced it, or the peer was
    // removed): register again with the setup key, if we have one.
    log::warn("control: the server refused the stream token (HTTP {}); registering again",
              head.status);
    state.stream_token.clear();
    close(s);
    phase = Phase::kWaiting;
    retry_at = now;
    return false;
  }
  if (auto st = control::check_stream_upgrade(head, ws_key); !st) {
    return failed(s, now, "GET /api/v1/stream: " + st.error().message), false;
  }
  phase = Phase::kStream;
  last_heard = now;
  next_ping = now + kPingInterval;
  next_endpoints = now;  // report at once
  reported.clear();
  log::info("control: connected to {}", options.url);
  return true;
}

void ControlLink::Impl::on_registered(Agent::State& s, Instant now, WallTime wall) {
  const std::string body = in.substr(0, head.has_content_length ? head.content_length : in.size());
  if (head.status != 200 && head.status != 201) {
    const std::string why = "registration refused: " + control::error_text(head.status, body);
    if (head.status == 403) log::error("control: {}", why);
    return failed(s, now, why);
  }
  auto answer = control::parse_register_answer(body, public_key);
  if (!answer) return failed(s, now, "the register answer: " + answer.error().message);
  state.stream_token = answer->stream_token;
  if (auto st = save_registration(state); !st) log::warn("control: {}", st.error().message);
  log::info("control: registered with {} as {}", options.url, answer->ipv4.to_string());
  // The map comes as the stream's first message (older servers also sent it here).
  if (answer->map) on_update(s, follower.on_map(std::move(*answer->map)), now, wall);
  close(s);
  phase = Phase::kWaiting;
  retry_at = now;  // the stream, right away
}

bool ControlLink::Impl::on_frames(Agent::State& s, Instant now, WallTime wall) {
  for (;;) {
    control::WsFrame frame;
    const auto p = control::parse_ws_frame(in, false, frame);
    if (p.result == control::WsParse::kIncomplete) return true;
    if (p.result != control::WsParse::kOk) {
      return failed(s, now, "the server sent a bad WebSocket frame"), false;
    }
    in.erase(0, p.consumed);
    switch (frame.opcode) {
      case control::WsOpcode::kText: {
        if (!frame.fin) return failed(s, now, "fragmented stream messages are not expected"), false;
        const auto u = follower.on_message(frame.payload);
        if (u.resync) return failed(s, now, "a delta did not follow our map; reconnecting"), false;
        on_update(s, u, now, wall);
        if (phase == Phase::kDone) return false;
        break;
      }
      case control::WsOpcode::kPing:
        send_frame(control::WsOpcode::kPong, frame.payload);
        break;
      case control::WsOpcode::kClose: {
        // Answer it (RFC 6455 §5.5.1) with what the socket takes now, then go.
        send_frame(control::WsOpcode::kClose, std::string_view(frame.payload).substr(0, 2));
        (void)write(
            Bytes(reinterpret_cast<const uint8_t*>(out.data()) + out_sent, out.size() - out_sent));
        return failed(s, now, "the server closed the stream"), false;
      }
      default:
        break;  // pongs, binary: nothing to do
    }
  }
}

void ControlLink::Impl::on_update(Agent::State& s, const control::MapFollower::Update& u,
                                  Instant now, WallTime wall) {
  if (!u.error.empty()) {
    log::warn("control: ignored a message from the server: {}", u.error);
    return;
  }
  if (u.removed) {
    log::error(
        "control: this machine was removed from the network by its admin; its peers are "
        "gone. Join again with a new setup key.");
    s.device.remove_all_peers();
    forget_registration(state.dir);
    state.stream_token.clear();
    close(s);
    phase = Phase::kDone;
    last_error = "removed from the network";
    return;
  }
  const auto& map = follower.map();
  if (!map) return;
  backoff.reset();
  map_received_unix = wall.unix_ns / 1'000'000'000;
  apply_map(s, *map, u.changes, applied_addresses, now);
  for (const auto& c : u.changes) {
    if (c.kind == control::PeerChange::Kind::kAdd)
      greeted.emplace_back(c.key, now + kGreetingRetry);
  }
  if (u.map_changed) {
    if (auto st = save_map(state.dir, *map); !st) log::warn("control: {}", st.error().message);
    state.map = *map;
  }
}

ControlLink::ControlLink(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ControlLink::~ControlLink() = default;

Result<std::unique_ptr<ControlLink>> ControlLink::create(const ControlOptions& options,
                                                         ControlState state) {
  auto url = control::parse_control_url(options.url);
  if (!url) return tl::unexpected(url.error());
  const crypto::Key pub = crypto::public_key_from_private(state.private_key);
  auto impl = std::make_unique<Impl>(options, std::move(state), std::move(*url), pub);
  if (impl->url.tls) {
    io::TlsClientOptions tls;
    tls.ca_file = options.ca_file;
    auto ctx = io::TlsContext::client(tls);
    if (!ctx) return tl::unexpected(ctx.error());
    impl->tls_ctx.emplace(std::move(*ctx));
  }
  return std::unique_ptr<ControlLink>(new ControlLink(std::move(impl)));
}

void ControlLink::start(Agent::State& s, Instant now, WallTime wall) {
  Impl& m = *impl_;
  if (const auto& map = m.follower.map()) {
    log::info("control: starting from the saved map (revision {}, {} peer(s))", map->revision,
              map->peers.size());
    apply_map(s, *map, control::plan_changes(nullptr, *map), m.applied_addresses, now);
  }
  m.retry_at = now;
  on_timer(s, now, wall);
}

void ControlLink::on_ready(Agent::State& s, Instant now, WallTime wall) {
  impl_->drive(s, now, wall);
}

void ControlLink::on_timer(Agent::State& s, Instant now, WallTime wall) {
  Impl& m = *impl_;
  std::erase_if(m.greeted, [&](const auto& g) {
    if (now < g.second) return false;
    renew_handshake(s, g.first, now);
    return true;
  });
  switch (m.phase) {
    case Phase::kWaiting:
      if (now >= m.retry_at) {
        m.connect(s, now);
        m.drive(s, now, wall);
      }
      return;
    case Phase::kDone:
      return;
    case Phase::kStream:
      if (now - m.last_heard >= kSilenceLimit) {
        return m.failed(s, now, "the server has been silent for a minute; reconnecting");
      }
      if (now >= m.next_ping) {
        m.send_frame(control::WsOpcode::kPing, "");
        m.next_ping = now + kPingInterval;
      }
      if (now >= m.next_endpoints) {
        auto eps = m.endpoints(s);
        if (eps != m.reported) {
          m.send_frame(control::WsOpcode::kText, control::endpoints_message(eps));
          m.reported = std::move(eps);
        }
        m.next_endpoints = now + kEndpointsCheck;
      }
      if (!m.out.empty()) m.drive(s, now, wall);
      return;
    default:
      if (now >= m.deadline) m.failed(s, now, "the server did not answer within 10 s");
      return;
  }
}

std::optional<Instant> ControlLink::poll_timeout() const {
  const Impl& m = *impl_;
  std::optional<Instant> greeting;
  for (const auto& g : m.greeted)
    if (!greeting || g.second < *greeting) greeting = g.second;
  auto at = Impl::link_timeout(m);
  if (greeting && (!at || *greeting < *at)) at = greeting;
  return at;
}

std::optional<Instant> ControlLink::Impl::link_timeout(const Impl& m) {
  switch (m.phase) {
    case Phase::kWaiting:
      return m.retry_at;
    case Phase::kDone:
      return std::nullopt;
    case Phase::kStream:
      return std::min({m.last_heard + kSilenceLimit, m.next_ping, m.next_endpoints});
    default:
      return m.deadline;
  }
}

ControlStatus ControlLink::status() const {
  const Impl& m = *impl_;
  ControlStatus st;
  st.server = m.options.url;
  st.connection = std::string(phase_name(m.phase, m.registering));
  st.last_error = m.last_error;
  st.map_received_unix = m.map_received_unix;
  if (const auto& map = m.follower.map()) {
    st.revision = map->revision;
    st.overlay_ipv4 = map->self.ipv4.to_string();
    st.overlay_ipv6 = map->self.ipv6.to_string();
    st.peers = map->peers.size();
    for (const auto& r : map->relays)
      st.relays.push_back(ControlRelayStatus{r.url, r.expires_unix});
  }
  return st;
}

const ControlState& ControlLink::state() const {
  return impl_->state;
}

}  // namespace tern::agent

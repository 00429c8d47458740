// The control connection's phases. One connection at a time, in one of these:
//   waiting -> (retry time) -> resolving (off the loop) -> connecting -> TLS handshake
//   -> sending the request -> reading the answer's head
//   -> register: reading its body, then a new connection
//   -> stream: 101, then WebSocket frames until it ends
// Any failure closes the connection and waits (Backoff) before the next attempt. What the
// stream carries once it is open is control_link_stream.cpp's.
#include "agent/control_link.hpp"

#include <algorithm>
#include <array>

#include "agent/control_apply.hpp"
#include "agent/control_link_impl.hpp"
#include "agent/resolve.hpp"
#include "base/log.hpp"
#include "control/agent_messages.hpp"
#include "crypto/key_encoding.hpp"
#include "crypto/x25519.hpp"

namespace tern::agent {
namespace {

constexpr size_t kReadChunk = 16384;

std::string_view phase_name(LinkPhase p, bool registering) {
  switch (p) {
    case LinkPhase::kWaiting:
      return "waiting";
    case LinkPhase::kStream:
      return "connected";
    case LinkPhase::kDone:
      return "stopped";
    default:
      return registering ? "registering" : "connecting";
  }
}

}  // namespace

void ControlLink::Impl::close(Agent::State& s) {
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

void ControlLink::Impl::failed(Agent::State& s, Instant now, const std::string& why) {
  close(s);
  if (why != last_error) log::warn("control: {}: {}", options.url, why);
  last_error = why;
  phase = LinkPhase::kWaiting;
  retry_at = now + backoff.next(crypto::random_u32());
}

void ControlLink::Impl::connect(Agent::State& s, Instant now) {
  registering = state.stream_token.empty();
  if (registering && options.setup_key.empty()) {
    last_error = "not registered and no setup key; run tern up with --setup-key KEY";
    log::error("control: {}: {}", options.url, last_error);
    phase = LinkPhase::kDone;
    return;
  }
  if (auto literal = Endpoint::parse(url.host_port)) return open(s, now, *literal);
  if (auto st = ensure_resolver(s); !st) return failed(s, now, st.error().message);
  // A lookup still hanging from the last attempt is waited for, not queued behind.
  if (!resolving) resolving = resolver->submit(url.host_port);
  phase = LinkPhase::kResolving;
  deadline = now + kConnectTimeout;
}

Status ControlLink::Impl::ensure_resolver(Agent::State& s) {
  if (resolver) return {};
  auto r = io::Resolver::create(resolve_endpoint);
  if (!r) return fail(r.error().message);
  if (auto st = s.poller.add(r->fd(), kTokenControl, true, false); !st) return st;
  resolver.emplace(std::move(*r));
  return {};
}

void ControlLink::Impl::take_answers(Agent::State& s, Instant now) {
  if (!resolver) return;
  for (auto& answer : resolver->take()) {
    auto relay = std::find_if(relay_lookups.begin(), relay_lookups.end(),
                              [&](const auto& l) { return l.first == answer.id; });
    if (relay != relay_lookups.end()) {
      relay_lookups.erase(relay);
      if (!answer.endpoint) {
        log::warn("control: relay {}: {}", answer.name, answer.endpoint.error().message);
        continue;
      }
      relay_addresses.push_back(*answer.endpoint);
      stun.set_servers(relay_addresses, now);
      continue;
    }
    if (answer.id != resolving) continue;
    resolving.reset();
    // An answer after its attempt timed out is dropped: the next attempt asks again.
    if (phase != LinkPhase::kResolving) continue;
    if (!answer.endpoint) return failed(s, now, answer.endpoint.error().message);
    open(s, now, *answer.endpoint);
  }
}

void ControlLink::Impl::open(Agent::State& s, Instant now, const Endpoint& ep) {
  auto stream = io::TcpStream::connect(ep);
  if (!stream) return failed(s, now, stream.error().message);
  tcp.emplace(std::move(*stream));
  fd = tcp->fd();
  if (auto st = s.poller.add(fd, kTokenControl, false, true); !st) {
    return failed(s, now, st.error().message);
  }
  wait = io::IoWait::kWrite;
  phase = LinkPhase::kConnecting;
  deadline = now + kConnectTimeout;
  if (registering) {
    out = control::register_http_request(
        url.host_port,
        control::register_request_json(options.setup_key, public_key, options.name, endpoints(s)));
  } else {
    std::array<uint8_t, 16> nonce{};
    crypto::random_bytes(nonce);
    ws_key = control::ws_client_key(nonce);
    out = control::stream_http_request(url.host_port, state.stream_token, ws_key);
  }
}

void ControlLink::Impl::drive(Agent::State& s, Instant now, WallTime wall) {
  for (int i = 0; i < 4096 && phase != LinkPhase::kWaiting && phase != LinkPhase::kDone; ++i) {
    if (!step(s, now, wall)) break;
  }
  if (fd >= 0) {
    const bool want_write = wait == io::IoWait::kWrite || out_sent < out.size();
    (void)s.poller.modify(fd, kTokenControl, wait != io::IoWait::kWrite, want_write);
  }
}

bool ControlLink::Impl::step(Agent::State& s, Instant now, WallTime wall) {
  switch (phase) {
    case LinkPhase::kConnecting: {
      auto done = tcp->finish_connect();
      if (!done) return failed(s, now, done.error().message), false;
      if (!*done) return false;
      if (url.tls) {
        auto t = io::TlsStream::client(*tls_ctx, std::move(*tcp), url.host);
        tcp.reset();
        if (!t) return failed(s, now, t.error().message), false;
        tls.emplace(std::move(*t));
        phase = LinkPhase::kTls;
      } else {
        phase = LinkPhase::kSending;
      }
      return true;
    }
    case LinkPhase::kTls: {
      auto r = tls->handshake();
      if (!r) return failed(s, now, r.error().message), false;
      wait = r->wait;
      if (r->would_block()) return false;
      phase = LinkPhase::kSending;
      return true;
    }
    case LinkPhase::kSending:
    case LinkPhase::kStream:
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
      if (phase == LinkPhase::kSending) {
        phase = LinkPhase::kHead;
        return true;
      }
      [[fallthrough]];
    case LinkPhase::kHead:
    case LinkPhase::kBody: {
      bool closed = false;
      if (!read_some(s, now, closed)) return false;
      if (phase == LinkPhase::kHead) {
        if (!on_head(s, now)) return phase != LinkPhase::kWaiting;
      }
      if (phase == LinkPhase::kBody) {
        if ((head.has_content_length && in.size() >= head.content_length) || closed) {
          on_registered(s, now, wall);
        }
        return phase == LinkPhase::kBody && !closed;
      }
      if (phase == LinkPhase::kStream) {
        if (!on_frames(s, now, wall)) return false;
        if (closed) return failed(s, now, "the server closed the stream"), false;
      }
      return phase != LinkPhase::kWaiting;
    }
    case LinkPhase::kResolving:  // take_answers() moves on
    case LinkPhase::kWaiting:
    case LinkPhase::kDone:
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
    if (phase == LinkPhase::kHead) return failed(s, now, "the server closed the connection"), false;
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
    // A refusal's body says why; Connection: close ends it.
    phase = LinkPhase::kBody;
    return true;
  }
  if (head.status == 401 || head.status == 403) {
    // The token is no longer valid (another registration replaced it, or the peer was
    // removed): register again with the setup key, if we have one.
    log::warn("control: the server refused the stream token (HTTP {}); registering again",
              head.status);
    state.stream_token.clear();
    close(s);
    phase = LinkPhase::kWaiting;
    retry_at = now;
    return false;
  }
  if (auto st = control::check_stream_upgrade(head, ws_key); !st) {
    return failed(s, now, "GET /api/v1/stream: " + st.error().message), false;
  }
  phase = LinkPhase::kStream;
  on_stream_open(now);
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
  phase = LinkPhase::kWaiting;
  retry_at = now;  // the stream, right away
}

std::optional<Instant> ControlLink::Impl::link_timeout() const {
  switch (phase) {
    case LinkPhase::kWaiting:
      return retry_at;
    case LinkPhase::kDone:
      return std::nullopt;
    case LinkPhase::kStream:
      return stream_timeout();
    default:
      return deadline;
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
    m.on_relays(s, *map, now);
  }
  m.retry_at = now;
  on_timer(s, now, wall);
}

bool ControlLink::take_stun(const Endpoint& from, Bytes datagram, Instant now) {
  Impl& m = *impl_;
  if (!m.stun.handle_input(from, datagram, now)) return false;
  m.note_reflexive(now);
  return true;
}

void ControlLink::on_ready(Agent::State& s, Instant now, WallTime wall) {
  impl_->take_answers(s, now);
  impl_->drive(s, now, wall);
}

void ControlLink::on_timer(Agent::State& s, Instant now, WallTime wall) {
  Impl& m = *impl_;
  m.retry_greetings(s, now);
  m.stun_timer(s, now);
  switch (m.phase) {
    case LinkPhase::kWaiting:
      if (now >= m.retry_at) {
        m.connect(s, now);
        m.drive(s, now, wall);
      }
      return;
    case LinkPhase::kDone:
      return;
    case LinkPhase::kStream:
      return m.on_stream_timer(s, now, wall);
    case LinkPhase::kResolving:
      if (now >= m.deadline) m.failed(s, now, "resolving " + m.url.host + " took over 10 s");
      return;
    default:
      if (now >= m.deadline) m.failed(s, now, "the server did not answer within 10 s");
      return;
  }
}

std::optional<Instant> ControlLink::poll_timeout() const {
  const Impl& m = *impl_;
  auto at = m.link_timeout();
  if (auto greeting = m.greeting_timeout(); greeting && (!at || *greeting < *at)) at = greeting;
  if (auto probe = m.stun.poll_timeout(); probe && (!at || *probe < *at)) at = probe;
  return at;
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

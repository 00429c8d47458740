#include "cli/control_stream.hpp"

#include "base/log.hpp"
#include "control/api.hpp"
#include "control/websocket.hpp"
#include "crypto/key_encoding.hpp"

namespace tern::cli {
namespace {

// A connected agent's "last seen" is refreshed this often (peer expiry counts from it).
constexpr Duration kTouchInterval = std::chrono::minutes(10);

Bytes as_bytes(std::string_view s) {
  return Bytes(reinterpret_cast<const uint8_t*>(s.data()), s.size());
}

control::HttpResponse unauthorized(std::string_view message, std::string_view reason,
                                   std::string_view challenge) {
  auto r = control::error_response(401, message, reason);
  r.headers.emplace_back("WWW-Authenticate", std::string(challenge));
  return r;
}

}  // namespace

int net_fd(const NetStream& s) {
  return std::visit([](const auto& x) { return x.fd(); }, s);
}
Result<io::IoResult> net_read(NetStream& s, MutableBytes buf) {
  return std::visit([&](auto& x) { return x.read(buf); }, s);
}
Result<io::IoResult> net_write(NetStream& s, std::string_view data) {
  return std::visit([&](auto& x) { return x.write(as_bytes(data)); }, s);
}

std::variant<control::HttpResponse, StreamAdmission> StreamSet::admit(
    const control::HttpRequest& request, const IpAddress& client, Instant now) {
  constexpr std::string_view kBearer = "Bearer ";
  const auto auth = request.header("authorization");
  if (!auth || !auth->starts_with(kBearer)) {
    return unauthorized("a stream token is needed: Authorization: Bearer tpt_...", "no token",
                        "Bearer");
  }
  if (!guesses_.allow(client, now)) {
    return control::error_response(429, "too many wrong tokens; try later", "rate limited");
  }
  auto peer = store_.find_peer_by_token(auth->substr(kBearer.size()));
  if (!peer) {
    log::warn("tern control: stream token lookup: {}", peer.error().message);
    return control::error_response(500, "the store failed");
  }
  if (!*peer) {
    guesses_.failed(client, now);
    return unauthorized("the stream token is not valid (a newer registration replaces it)",
                        "invalid token", "Bearer error=\"invalid_token\"");
  }
  auto accept = control::check_ws_upgrade(request);
  if (!accept) return control::error_response(400, accept.error().message, "not a WebSocket");
  if (conns_.size() >= options_.max_streams) {
    auto r = control::error_response(503, "the server holds all the streams it may", "busy");
    r.headers.emplace_back("Retry-After", "10");
    return r;
  }
  return StreamAdmission{std::move(**peer), std::move(*accept)};
}

const std::vector<control::PeerRecord>* StreamSet::peers_at(int64_t revision) {
  if (cached_revision_ != revision) {
    auto peers = store_.list_peers();
    if (!peers) {
      log::warn("tern control: listing peers: {}", peers.error().message);
      return nullptr;
    }
    cached_peers_ = std::move(*peers);
    cached_revision_ = revision;
  }
  return &cached_peers_;
}

void StreamSet::adopt(uint64_t token, NetStream stream, Endpoint peer, StreamAdmission admission,
                      std::string_view rest, Instant now, int64_t now_unix) {
  // Last seen now (the endpoints stay until the agent reports its own). Skipped when recent:
  // after a server restart every agent reconnects at once, and each touch is a commit.
  const int64_t touch_s = std::chrono::duration_cast<std::chrono::seconds>(kTouchInterval).count();
  if (now_unix - admission.peer.last_seen_unix >= touch_s / 2) {
    if (auto st = store_.touch_peer(admission.peer.public_key, admission.peer.endpoints, now_unix);
        !st) {
      log::warn("tern control: marking a peer seen: {}", st.error().message);
    }
  }
  // Later touches spread over a minute, not all in one tick.
  const Instant next_touch = now + kTouchInterval + std::chrono::milliseconds(token % 60'000);
  auto conn = std::unique_ptr<Conn>(
      new Conn{std::move(stream), peer, admission.peer.public_key, admission.peer.endpoints,
               control::StreamSession(admission.accept_key, now, options_.limits), next_touch,
               false, false});
  Conn& c = *conn;
  conns_.emplace(token, std::move(conn));
  log::debug("tern control: stream {} from {} for {}", token, peer.to_string(),
             crypto::key_to_base64(c.key));

  // One stream per peer: a reconnecting agent's old connection may not have timed out yet.
  if (auto old = by_key_.find(c.key); old != by_key_.end() && old->second != token) {
    if (auto it = conns_.find(old->second); it != conns_.end()) {
      it->second->session.close(control::kWsNormal, "replaced", control::StreamEnd::kReplaced, now);
      hub_.unsubscribe(old->second);
      flush(old->second, *it->second);
    }
  }
  by_key_[c.key] = token;

  const auto revision = store_.revision();
  const auto* peers = revision ? peers_at(*revision) : nullptr;
  if (!peers) {
    c.session.close(1011, "store failure", control::StreamEnd::kShutdown, now);
  } else {
    // The record as listed now: it may carry changes made since the token was checked.
    control::PeerRecord self = admission.peer;
    for (const auto& p : *peers) {
      if (p.public_key == self.public_key) self = p;
    }
    (void)c.session.send_text(
        hub_.subscribe(token, self, *peers, store_.plan(), *revision, now_unix));
  }
  if (!rest.empty()) c.session.handle_input(rest, now);
  events(c, now, now_unix);
  flush(token, c);
}

void StreamSet::drive(uint64_t token, Instant now, int64_t now_unix) {
  auto it = conns_.find(token);
  if (it == conns_.end()) return;
  Conn& c = *it->second;
  std::array<uint8_t, 16384> buf;
  c.read_wants_write = false;
  // TLS may hold decrypted bytes the socket no longer signals: read until it says wait.
  while (!c.session.finished()) {
    auto r = net_read(c.stream, buf);
    if (!r || r->closed) return close(token);
    if (r->would_block()) {
      c.read_wants_write = r->wait == io::IoWait::kWrite;
      break;
    }
    c.session.handle_input(std::string_view(reinterpret_cast<const char*>(buf.data()), r->bytes),
                           now);
  }
  events(c, now, now_unix);
  flush(token, c);
}

void StreamSet::events(Conn& c, Instant now, int64_t now_unix) {
  while (auto e = c.session.poll_event(now)) {
    if (auto* bad = std::get_if<control::StreamBadMessage>(&*e)) {
      log::debug("tern control: stream from {}: ignored a message: {}", c.peer.to_string(),
                 bad->reason);
      continue;
    }
    c.endpoints = std::move(std::get<control::StreamEndpoints>(*e).endpoints);
    if (auto st = store_.touch_peer(c.key, c.endpoints, now_unix); !st) {
      log::warn("tern control: storing endpoints: {}", st.error().message);
    }
    changed_ = true;
  }
}

void StreamSet::flush(uint64_t token, Conn& c) {
  while (!c.session.output().empty()) {
    auto w = net_write(c.stream, c.session.output());
    if (!w) return close(token);
    if (w->would_block()) break;
    c.session.consume_output(w->bytes);
  }
  if (c.session.finished()) return close(token);
  const bool want_write = !c.session.output().empty() || c.read_wants_write;
  if (want_write != c.want_write) {
    c.want_write = want_write;
    (void)poller_.modify(net_fd(c.stream), token, true, want_write);
  }
}

void StreamSet::close(uint64_t token) {
  auto it = conns_.find(token);
  if (it == conns_.end()) return;
  Conn& c = *it->second;
  const auto end = c.session.end();
  ++ends_[static_cast<size_t>(end)];
  if (end == control::StreamEnd::kOverflow || end == control::StreamEnd::kProtocol ||
      end == control::StreamEnd::kTooLarge) {
    log::info("tern control: stream from {} dropped: {}", c.peer.to_string(),
              control::stream_end_text(end));
  } else {
    log::debug("tern control: stream {} from {} ended: {}", token, c.peer.to_string(),
               control::stream_end_text(end));
  }
  if (auto* tls = std::get_if<io::TlsStream>(&c.stream)) tls->shutdown();
  poller_.remove(net_fd(c.stream));
  hub_.unsubscribe(token);
  if (auto k = by_key_.find(c.key); k != by_key_.end() && k->second == token) by_key_.erase(k);
  conns_.erase(it);
}

void StreamSet::tick(Instant now, int64_t now_unix) {
  for (auto it = conns_.begin(); it != conns_.end();) {
    const uint64_t token = it->first;
    Conn& c = *it->second;
    ++it;  // flush() may close (erase) this one
    if (auto t = c.session.poll_timeout(); t && *t <= now) c.session.handle_timeout(now);
    if (now >= c.next_touch && c.session.open()) {
      c.next_touch = now + kTouchInterval;
      if (auto st = store_.touch_peer(c.key, c.endpoints, now_unix); !st) {
        log::warn("tern control: marking a peer seen: {}", st.error().message);
      }
    }
    events(c, now, now_unix);
    flush(token, c);
  }
}

void StreamSet::publish(bool force, Instant now, int64_t now_unix) {
  changed_ = false;
  const auto revision = store_.revision();
  if (!revision) {
    log::warn("tern control: reading the store's revision: {}", revision.error().message);
    return;
  }
  if (!force && published_ == *revision) return;
  published_ = *revision;
  if (hub_.size() == 0) return;
  const auto* peers = peers_at(*revision);
  if (!peers) return;
  for (auto& push : hub_.publish(*peers, store_.plan(), *revision, now_unix)) {
    auto it = conns_.find(push.stream);
    if (it == conns_.end()) continue;
    Conn& c = *it->second;
    (void)c.session.send_text(push.message);
    if (push.close) {
      c.session.close(control::kWsNormal, "removed", control::StreamEnd::kRemoved, now);
    }
    flush(push.stream, c);
  }
}

void StreamSet::shutdown(Instant now) {
  for (auto it = conns_.begin(); it != conns_.end();) {
    const uint64_t token = it->first;
    Conn& c = *it->second;
    ++it;
    c.session.close(control::kWsGoingAway, "server stopping", control::StreamEnd::kShutdown, now);
    flush(token, c);
  }
}

}  // namespace tern::cli

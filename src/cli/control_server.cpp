#include "cli/control_server.hpp"

#include <csignal>

#include "base/log.hpp"
#include "io/clock.hpp"

namespace tern::cli {
namespace {

constexpr uint64_t kTokenSignal = 0;
constexpr uint64_t kTokenListener = 1;
constexpr uint64_t kTokenChanges = 2;
constexpr uint64_t kFirstConnection = 3;
constexpr size_t kMaxConnections = 512;  // plain requests; streams have their own bound
constexpr size_t kAcceptBatch = 32;
constexpr Duration kRequestTimeout = std::chrono::seconds(10);
constexpr Duration kDrainTime = std::chrono::seconds(1);
constexpr Duration kExpirySweep = std::chrono::seconds(60);
// Streams' timers are served in ticks: pings and silence are counted in tens of seconds.
constexpr Duration kStreamTick = std::chrono::milliseconds(250);
// Another server on the same database changes it without telling us (SQLite gives no
// signal; PostgreSQL's may be lost): its changes reach our agents within this.
constexpr Duration kRevisionPoll = std::chrono::milliseconds(500);
// Maps are rebuilt this often even when no peer changed, so relay credentials roll over.
constexpr Duration kRollover = std::chrono::seconds(60);
// Read past a refused request at most this much before closing (so the client sees the
// answer instead of a reset).
constexpr size_t kMaxDrain = 1 << 20;

int64_t unix_now() {
  return io::wall_now().unix_ns / 1'000'000'000;
}

}  // namespace

Server::Server(control::Store& store, control::Api& api, ServerParts parts, ServerOptions options)
    : store_(store),
      api_(api),
      poller_(std::move(parts.poller)),
      signals_(std::move(parts.signals)),
      listener_(std::move(parts.listener)),
      tls_(std::move(parts.tls)),
      peer_expiry_s_(options.peer_expiry_s),
      streams_(store, poller_, std::move(options.relays), options.streams),
      next_token_(kFirstConnection) {}

Status Server::run() {
  if (auto st = poller_.add(signals_.fd(), kTokenSignal, true, false); !st) return st;
  if (auto st = poller_.add(listener_.fd(), kTokenListener, true, false); !st) return st;
  watch_changes(true);
  Instant now = io::monotonic_now();
  Instant next_sweep = now;
  Instant next_tick = now + kStreamTick;
  Instant next_poll = now + kRevisionPoll;
  Instant next_rollover = now + kRollover;
  streams_.publish(false, now, unix_now());  // the revision agents start from
  std::array<io::Ready, 64> ready{};
  for (;;) {
    now = io::monotonic_now();
    if (peer_expiry_s_ && now >= next_sweep) {
      sweep_expired();
      next_sweep = now + kExpirySweep;
    }
    if (now >= next_tick) {
      streams_.tick(now, unix_now());
      next_tick = now + kStreamTick;
    }
    if (now >= next_rollover) {
      streams_.publish(true, now, unix_now());
      next_rollover = now + kRollover;
      next_poll = now + kRevisionPoll;
    } else if (now >= next_poll || streams_.changed()) {
      streams_.publish(false, now, unix_now());
      watch_changes(now >= next_poll);
      next_poll = now + kRevisionPoll;
    }
    Instant wake = std::min({next_tick, next_poll, next_rollover});
    if (peer_expiry_s_) wake = std::min(wake, next_sweep);
    for (const auto& [token, c] : conns_)
      wake = std::min(wake, c->deadline);
    auto n = poller_.wait(std::max(Duration::zero(), wake - now), ready);
    if (!n) return fail(n.error().message);
    now = io::monotonic_now();
    for (size_t i = 0; i < *n; ++i) {
      const uint64_t token = ready[i].token;
      if (token == kTokenSignal) {
        if (auto sig = signals_.read(); sig && *sig != SIGHUP) {
          log::info("tern control: signal {}: stopping ({} agent streams told)", *sig,
                    streams_.size());
          streams_.shutdown(now);
          return {};
        }
      } else if (token == kTokenListener) {
        accept_all(now);
      } else if (token == kTokenChanges) {
        if (store_.take_changes()) streams_.mark_changed();
      } else if (auto it = conns_.find(token); it != conns_.end()) {
        drive(token, *it->second, now);
      } else if (streams_.owns(token)) {
        streams_.drive(token, now, unix_now());
      }
    }
    expire(now);
    if (streams_.changed()) streams_.publish(false, now, unix_now());
    watch_changes(false);
  }
}

void Server::watch_changes(bool recheck) {
  const int fd = store_.change_fd();
  if (fd < 0) {
    watched_change_fd_ = -1;
    return;
  }
  if (fd == watched_change_fd_ && !recheck) return;
  // Never EPOLL_CTL_DEL the old number: a closed socket has left epoll by itself, and its
  // number may belong to an agent's connection by now. EEXIST means still watched.
  if (auto st = poller_.add(fd, kTokenChanges, true, false); !st && fd != watched_change_fd_) {
    log::warn("tern control: cannot watch the store's changes ({}); polling every 500 ms",
              st.error().message);
    watched_change_fd_ = -1;
    return;
  }
  watched_change_fd_ = fd;
}

void Server::accept_all(Instant now) {
  // A batch per loop turn, not until the backlog is empty: clients that reconnect as fast as
  // they are answered would keep this loop here (streams unserved, `now` growing stale).
  for (size_t n = 0; n < kAcceptBatch && conns_.size() < kMaxConnections; ++n) {
    auto accepted = listener_.accept();
    if (!accepted) {
      log::warn("tern control: accept: {}", accepted.error().message);
      return;
    }
    if (!*accepted) return;
    io::TcpStream tcp = std::move(**accepted);
    const Endpoint peer = tcp.peer();
    std::unique_ptr<Connection> c;
    if (tls_) {
      auto tls = io::TlsStream::server(*tls_, std::move(tcp));
      if (!tls) {
        log::debug("tern control: TLS from {}: {}", peer.to_string(), tls.error().message);
        continue;
      }
      c.reset(new Connection{
          std::move(*tls), peer, now + kRequestTimeout, {}, {}, 0, false, false, false, 0});
    } else {
      c.reset(new Connection{
          std::move(tcp), peer, now + kRequestTimeout, {}, {}, 0, false, false, false, 0});
    }
    const uint64_t token = next_token_++;
    if (auto st = poller_.add(net_fd(c->stream), token, true, false); !st) continue;
    Connection& ref = *c;
    conns_.emplace(token, std::move(c));
    drive(token, ref, now);
  }
  pace_accepting();
}

void Server::pace_accepting() {
  // The listener is level-triggered: left in the poller while full, it would wake every turn.
  const bool want = conns_.size() < kMaxConnections;
  if (want == accepting_) return;
  if (poller_.modify(listener_.fd(), kTokenListener, want, false)) accepting_ = want;
}

void Server::close(uint64_t token) {
  auto it = conns_.find(token);
  if (it == conns_.end()) return;
  if (auto* tls = std::get_if<io::TlsStream>(&it->second->stream)) tls->shutdown();
  poller_.remove(net_fd(it->second->stream));
  conns_.erase(it);
  pace_accepting();
}

void Server::want(uint64_t token, Connection& c, io::IoWait wait) {
  (void)poller_.modify(net_fd(c.stream), token, wait != io::IoWait::kWrite,
                       wait == io::IoWait::kWrite);
}

void Server::drive(uint64_t token, Connection& c, Instant now) {
  if (auto* tls = std::get_if<io::TlsStream>(&c.stream); tls && !tls->handshake_done()) {
    auto r = tls->handshake();
    if (!r) {
      log::debug("tern control: TLS from {}: {}", c.peer.to_string(), r.error().message);
      return close(token);
    }
    if (r->would_block()) return want(token, c, r->wait);
  }
  if (!c.answered && !read_request(token, c, now)) return;
  if (c.sent < c.out.size()) {
    while (c.sent < c.out.size()) {
      auto w = net_write(c.stream, std::string_view(c.out).substr(c.sent));
      if (!w) return close(token);
      if (w->would_block()) return want(token, c, w->wait);
      c.sent += w->bytes;
    }
    // Plain HTTP with the whole request read: closing now cannot reset the answer (nothing
    // unread on our side), and frees the slot at once instead of when the client's end comes.
    if (std::holds_alternative<io::TcpStream>(c.stream) && !c.unread) return close(token);
    if (auto* tcp = std::get_if<io::TcpStream>(&c.stream)) (void)tcp->shutdown_write();
    if (auto* tls = std::get_if<io::TlsStream>(&c.stream)) tls->shutdown();
    c.draining = true;
    c.deadline = std::min(c.deadline, now + kDrainTime);
    want(token, c, io::IoWait::kRead);
  }
  if (c.draining) drain(token, c);
}

bool Server::read_request(uint64_t token, Connection& c, Instant now) {
  std::array<uint8_t, 16384> buf;
  for (;;) {
    auto r = net_read(c.stream, buf);
    if (!r || r->closed) {
      close(token);  // ended before a whole request: nothing to answer
      return false;
    }
    if (r->would_block()) {
      want(token, c, r->wait);
      return false;
    }
    c.in.append(reinterpret_cast<const char*>(buf.data()), r->bytes);
    control::HttpRequest request;
    const auto parsed = control::parse_http_request(c.in, request);
    if (parsed.result == control::HttpParse::kIncomplete) continue;
    control::HttpResponse response;
    if (parsed.result != control::HttpParse::kOk) {
      response = control::parse_error_response(parsed.result);
    } else if (request.path == kStreamPath) {
      auto admitted = streams_.admit(request, c.peer.address, now);
      if (auto* ok = std::get_if<StreamAdmission>(&admitted)) {
        // The connection becomes a stream: same socket, same poller token, new owner.
        const std::string rest = c.in.substr(parsed.consumed);
        NetStream stream = std::move(c.stream);
        const Endpoint peer = c.peer;
        conns_.erase(token);
        pace_accepting();
        streams_.adopt(token, std::move(stream), peer, std::move(*ok), rest, now, unix_now());
        return false;
      }
      response = std::move(std::get<control::HttpResponse>(admitted));
    } else {
      response = api_.handle(request, control::Caller{c.peer.address, now, unix_now()});
      // Registrations and removals change agents' maps; publish() checks the revision.
      if (request.method != "GET") streams_.mark_changed();
    }
    log::debug("tern control: {} {} {} -> {}", c.peer.to_string(), request.method, request.path,
               response.status);
    c.out = control::serialize_response(response, true);
    c.unread = parsed.result != control::HttpParse::kOk || parsed.consumed < c.in.size();
    c.in.clear();
    c.answered = true;
    return true;
  }
}

void Server::drain(uint64_t token, Connection& c) {
  std::array<uint8_t, 16384> buf;
  for (;;) {
    auto r = net_read(c.stream, buf);
    if (!r || r->closed || c.drained > kMaxDrain) return close(token);
    if (r->would_block()) return want(token, c, r->wait);
    c.drained += r->bytes;
  }
}

void Server::expire(Instant now) {
  for (auto it = conns_.begin(); it != conns_.end();) {
    const uint64_t token = it->first;
    ++it;
    if (conns_.at(token)->deadline <= now) close(token);
  }
}

void Server::sweep_expired() {
  auto gone = store_.expire_peers(unix_now(), *peer_expiry_s_);
  if (!gone) {
    log::warn("tern control: peer expiry: {}", gone.error().message);
  } else if (!gone->empty()) {
    log::info("tern control: {} peer(s) unseen for {} s removed", gone->size(), *peer_expiry_s_);
    streams_.mark_changed();
  }
}

}  // namespace tern::cli

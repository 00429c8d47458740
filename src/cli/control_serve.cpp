#include "cli/control_serve.hpp"

#include <csignal>
#include <cstdio>
#include <map>
#include <memory>
#include <optional>
#include <variant>

#include "base/log.hpp"
#include "control/api.hpp"
#include "control/duration_text.hpp"
#include "control/http.hpp"
#include "control/self_signed.hpp"
#include "control/sqlite_store.hpp"
#include "io/clock.hpp"
#include "io/poller.hpp"
#include "io/signals.hpp"
#include "io/tcp_stream.hpp"
#include "io/tls_stream.hpp"

namespace tern::cli {
namespace {

constexpr uint64_t kTokenSignal = 0;
constexpr uint64_t kTokenListener = 1;
constexpr uint64_t kFirstConnection = 2;
constexpr size_t kMaxConnections = 512;
constexpr Duration kRequestTimeout = std::chrono::seconds(10);
constexpr Duration kDrainTime = std::chrono::seconds(1);
constexpr Duration kExpirySweep = std::chrono::seconds(60);
// Read past a refused request at most this much before closing (so the client sees the
// answer instead of a reset).
constexpr size_t kMaxDrain = 1 << 20;

int64_t unix_now() {
  return io::wall_now().unix_ns / 1'000'000'000;
}

struct Connection {
  std::variant<io::TcpStream, io::TlsStream> stream;
  Endpoint peer;
  Instant deadline{};
  std::string in;
  std::string out;
  size_t sent = 0;
  bool answered = false;  // `out` holds the whole response
  bool draining = false;  // response sent: reading what is left, then closing
  size_t drained = 0;

  int fd() const {
    return std::visit([](const auto& s) { return s.fd(); }, stream);
  }
  Result<io::IoResult> read(MutableBytes buf) {
    return std::visit([&](auto& s) { return s.read(buf); }, stream);
  }
  Result<io::IoResult> write(Bytes data) {
    return std::visit([&](auto& s) { return s.write(data); }, stream);
  }
};

class Server {
 public:
  Server(control::SqliteStore& store, control::Api& api, io::Poller poller, io::SignalFd signals,
         io::TcpListener listener, std::optional<io::TlsContext> tls,
         std::optional<int64_t> peer_expiry_s)
      : store_(store),
        api_(api),
        poller_(std::move(poller)),
        signals_(std::move(signals)),
        listener_(std::move(listener)),
        tls_(std::move(tls)),
        peer_expiry_s_(peer_expiry_s) {}

  Status run() {
    if (auto st = poller_.add(signals_.fd(), kTokenSignal, true, false); !st) return st;
    if (auto st = poller_.add(listener_.fd(), kTokenListener, true, false); !st) return st;
    Instant next_sweep = io::monotonic_now();
    std::array<io::Ready, 64> ready{};
    for (;;) {
      Instant now = io::monotonic_now();
      if (peer_expiry_s_ && now >= next_sweep) {
        sweep_expired();
        next_sweep = now + kExpirySweep;
      }
      Instant wake = peer_expiry_s_ ? next_sweep : now + kExpirySweep;
      for (const auto& [token, c] : conns_)
        wake = std::min(wake, c->deadline);
      auto n = poller_.wait(std::max(Duration::zero(), wake - now), ready);
      if (!n) return fail(n.error().message);
      now = io::monotonic_now();
      for (size_t i = 0; i < *n; ++i) {
        const uint64_t token = ready[i].token;
        if (token == kTokenSignal) {
          if (auto sig = signals_.read(); sig && *sig != SIGHUP) {
            log::info("tern control: signal {}: stopping", *sig);
            return {};
          }
        } else if (token == kTokenListener) {
          accept_all(now);
        } else if (auto it = conns_.find(token); it != conns_.end()) {
          drive(token, *it->second, now);
        }
      }
      expire(now);
    }
  }

 private:
  void accept_all(Instant now) {
    for (;;) {
      auto accepted = listener_.accept();
      if (!accepted) {
        log::warn("tern control: accept: {}", accepted.error().message);
        return;
      }
      if (!*accepted) return;
      if (conns_.size() >= kMaxConnections) continue;  // closed at once: the client retries
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
            std::move(*tls), peer, now + kRequestTimeout, {}, {}, 0, false, false, 0});
      } else {
        c.reset(new Connection{
            std::move(tcp), peer, now + kRequestTimeout, {}, {}, 0, false, false, 0});
      }
      const uint64_t token = next_token_++;
      if (auto st = poller_.add(c->fd(), token, true, false); !st) continue;
      Connection& ref = *c;
      conns_.emplace(token, std::move(c));
      drive(token, ref, now);
    }
  }

  void close(uint64_t token) {
    auto it = conns_.find(token);
    if (it == conns_.end()) return;
    if (auto* tls = std::get_if<io::TlsStream>(&it->second->stream)) tls->shutdown();
    poller_.remove(it->second->fd());
    conns_.erase(it);
  }

  void want(uint64_t token, Connection& c, io::IoWait wait) {
    (void)poller_.modify(c.fd(), token, wait != io::IoWait::kWrite, wait == io::IoWait::kWrite);
  }

  void drive(uint64_t token, Connection& c, Instant now) {
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
        auto w = c.write(
            Bytes(reinterpret_cast<const uint8_t*>(c.out.data()) + c.sent, c.out.size() - c.sent));
        if (!w) return close(token);
        if (w->would_block()) return want(token, c, w->wait);
        c.sent += w->bytes;
      }
      if (auto* tcp = std::get_if<io::TcpStream>(&c.stream)) (void)tcp->shutdown_write();
      if (auto* tls = std::get_if<io::TlsStream>(&c.stream)) tls->shutdown();
      c.draining = true;
      c.deadline = std::min(c.deadline, now + kDrainTime);
      want(token, c, io::IoWait::kRead);
    }
    if (c.draining) drain(token, c);
  }

  // false: nothing to answer yet (or the connection is gone).
  bool read_request(uint64_t token, Connection& c, Instant now) {
    std::array<uint8_t, 16384> buf;
    for (;;) {
      auto r = c.read(buf);
      if (!r) {
        close(token);
        return false;
      }
      if (r->closed) {
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
      control::HttpResponse response =
          parsed.result == control::HttpParse::kOk
              ? api_.handle(request, control::Caller{c.peer.address, now, unix_now()})
              : control::parse_error_response(parsed.result);
      log::debug("tern control: {} {} {} -> {}", c.peer.to_string(), request.method, request.path,
                 response.status);
      c.out = control::serialize_response(response, true);
      c.in.clear();
      c.answered = true;
      return true;
    }
  }

  void drain(uint64_t token, Connection& c) {
    std::array<uint8_t, 16384> buf;
    for (;;) {
      auto r = c.read(buf);
      if (!r || r->closed || c.drained > kMaxDrain) return close(token);
      if (r->would_block()) return want(token, c, r->wait);
      c.drained += r->bytes;
    }
  }

  void expire(Instant now) {
    for (auto it = conns_.begin(); it != conns_.end();) {
      const uint64_t token = it->first;
      ++it;
      if (conns_.at(token)->deadline <= now) close(token);
    }
  }

  void sweep_expired() {
    auto gone = store_.expire_peers(unix_now(), *peer_expiry_s_);
    if (!gone) {
      log::warn("tern control: peer expiry: {}", gone.error().message);
    } else if (!gone->empty()) {
      log::info("tern control: {} peer(s) unseen for {} s removed", gone->size(), *peer_expiry_s_);
    }
  }

  control::SqliteStore& store_;
  control::Api& api_;
  io::Poller poller_;
  io::SignalFd signals_;
  io::TcpListener listener_;
  std::optional<io::TlsContext> tls_;
  std::optional<int64_t> peer_expiry_s_;
  std::map<uint64_t, std::unique_ptr<Connection>> conns_;
  uint64_t next_token_ = kFirstConnection;
};

bool is_loopback(const IpAddress& a) {
  const IpAddress u = a.unmapped();
  if (u.is_v4()) return (u.v4_host_order() >> 24) == 127;
  return u == *IpAddress::parse("::1");
}

Result<std::optional<io::TlsContext>> make_tls(const ServeOptions& o, const Endpoint& listen) {
  if (o.dev_plain_http) {
    if (!is_loopback(listen.address)) {
      return fail("--dev-plain-http serves tokens and keys in clear: only on a loopback address");
    }
    if (o.dev_self_signed || !o.cert.empty()) {
      return fail("--dev-plain-http goes without --cert/--key and --dev-self-signed");
    }
    std::fprintf(stderr,
                 "tern control: WARNING: plain HTTP (--dev-plain-http): for development on "
                 "this machine only\n");
    return std::optional<io::TlsContext>();
  }
  std::string cert = o.cert;
  std::string key = o.key;
  if (o.dev_self_signed) {
    if (!cert.empty() || !key.empty()) return fail("--dev-self-signed goes without --cert/--key");
    std::vector<std::string> names = {"localhost", "127.0.0.1", "::1"};
    if (!listen.address.is_unspecified()) names.push_back(listen.address.to_string());
    auto files = control::ensure_self_signed(o.data, names);
    if (!files) return tl::unexpected(files.error());
    cert = files->cert;
    key = files->key;
    std::fprintf(stderr,
                 "tern control: WARNING: self-signed development certificate (--dev-self-signed)"
                 "%s: %s\n"
                 "tern control: clients must trust it: --ca %s\n",
                 files->created ? ", created now" : "", cert.c_str(), cert.c_str());
  } else if (cert.empty() || key.empty()) {
    return fail("TLS needs --cert FILE --key FILE (or --dev-self-signed for a trial certificate)");
  }
  auto ctx = io::TlsContext::server(cert, key);
  if (!ctx) return tl::unexpected(ctx.error());
  return std::optional<io::TlsContext>(std::move(*ctx));
}

}  // namespace

Status serve(const ServeOptions& o) {
  if (o.data.empty()) return fail("--data DIR is required");
  auto listen = Endpoint::parse(o.listen);
  if (!listen) return fail("--listen must be ADDR:PORT, e.g. 0.0.0.0:8443 or [::]:8443");
  control::StoreOptions store_options;
  if (!o.v4_pool.empty()) {
    auto pool = control::parse_v4_pool(o.v4_pool);
    if (!pool) return fail("--address-pool: " + pool.error().message);
    store_options.v4_pool = *pool;
  }
  std::optional<int64_t> peer_expiry;
  if (!o.peer_expiry.empty()) {
    auto d = control::parse_duration_seconds(o.peer_expiry);
    if (!d) return fail("--peer-expiry: " + d.error().message);
    peer_expiry = *d;
  }
  control::ApiOptions api_options;
  if (!o.relays.empty()) {
    if (o.relay_secret.empty())
      return fail("--relay needs --relay-secret (shared with the relays)");
    auto ttl = control::parse_duration_seconds(o.relay_ttl);
    if (!ttl || *ttl < 60) return fail("--relay-ttl must be a duration of a minute or more");
    for (const auto& url : o.relays) {
      if (!url.starts_with("turn:") && !url.starts_with("turns:")) {
        return fail("--relay must be a TURN URL such as turn:192.0.2.1:3478 (got " + url + ")");
      }
      api_options.relays.push_back({url, o.relay_secret, *ttl});
    }
  }

  auto store = control::SqliteStore::open(o.data, store_options);
  if (!store) return tl::unexpected(store.error());
  auto tls = make_tls(o, *listen);
  if (!tls) return tl::unexpected(tls.error());
  auto token = control::ensure_admin_token(**store, unix_now());
  if (!token) return tl::unexpected(token.error());
  if (*token) {
    std::printf("tern control: created the admin token. It is shown this once only; keep it:\n%s\n",
                (*token)->c_str());
    std::fflush(stdout);
  }
  auto hash = control::admin_token_hash(**store);
  if (!hash) return tl::unexpected(hash.error());
  control::Api api(**store, std::move(api_options), *hash);

  auto signals = io::SignalFd::create();
  if (!signals) return tl::unexpected(signals.error());
  auto poller = io::Poller::create();
  if (!poller) return tl::unexpected(poller.error());
  auto listener = io::TcpListener::listen(*listen);
  if (!listener) return tl::unexpected(listener.error());
  const Endpoint bound = listener->local();
  std::printf("tern control: listening on %s://%s (data in %s, network %s and %s)\n",
              *tls ? "https" : "http", bound.to_string().c_str(), o.data.c_str(),
              (*store)->plan().v4.to_string().c_str(), (*store)->plan().v6.to_string().c_str());
  std::fflush(stdout);
  Server server(**store, api, std::move(*poller), std::move(*signals), std::move(*listener),
                std::move(*tls), peer_expiry);
  return server.run();
}

}  // namespace tern::cli

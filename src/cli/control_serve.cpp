#include "cli/control_serve.hpp"

#include <sys/resource.h>

#include <cstdio>
#include <optional>

#include "base/log.hpp"
#include "cli/control_server.hpp"
#include "control/api.hpp"
#include "control/duration_text.hpp"
#include "control/open_store.hpp"
#include "control/self_signed.hpp"
#include "io/clock.hpp"

namespace tern::cli {
namespace {

int64_t unix_now() {
  return io::wall_now().unix_ns / 1'000'000'000;
}

// Each agent stream is a descriptor: take what the hard limit allows (the soft default,
// 1024, would cap the streams far below --max-streams).
void raise_fd_limit(size_t wanted) {
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) != 0) return;
  if (lim.rlim_cur < lim.rlim_max) {
    lim.rlim_cur = lim.rlim_max;
    (void)setrlimit(RLIMIT_NOFILE, &lim);
  }
  if (lim.rlim_cur != RLIM_INFINITY && lim.rlim_cur < wanted + 600) {
    log::warn(
        "tern control: only {} open files allowed; fewer than --max-streams {} agents "
        "can stay connected (raise LimitNOFILE / ulimit -n)",
        lim.rlim_cur, wanted);
  }
}

// postgres://user:secret@host/db -> postgres://user:***@host/db, for the log.
std::string redact_url(const std::string& url) {
  const size_t scheme = url.find("://");
  const size_t at = url.find('@');
  if (scheme == std::string::npos || at == std::string::npos || at < scheme) return url;
  const size_t colon = url.find(':', scheme + 3);
  if (colon == std::string::npos || colon > at) return url;
  return url.substr(0, colon + 1) + "***" + url.substr(at);
}

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

  if (o.max_streams == 0) return fail("--max-streams must be at least 1");
  auto store = control::open_store({o.data, o.database}, store_options);
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
  control::Api api(**store, api_options, *hash);

  auto signals = io::SignalFd::create();
  if (!signals) return tl::unexpected(signals.error());
  auto poller = io::Poller::create();
  if (!poller) return tl::unexpected(poller.error());
  // A deep backlog: while the loop holds all the connections it may, new ones wait there
  // (accepted once some close) instead of being refused; the kernel caps it at somaxconn.
  auto listener = io::TcpListener::listen(*listen, 4096);
  if (!listener) return tl::unexpected(listener.error());
  const Endpoint bound = listener->local();
  std::printf("tern control: listening on %s://%s (%s %s, network %s and %s)\n",
              *tls ? "https" : "http", bound.to_string().c_str(),
              o.database.empty() ? "data in" : "database",
              o.database.empty() ? o.data.c_str() : redact_url(o.database).c_str(),
              (*store)->plan().v4.to_string().c_str(), (*store)->plan().v6.to_string().c_str());
  std::fflush(stdout);
  raise_fd_limit(o.max_streams);
  ServerOptions server_options{peer_expiry, api_options.relays, {}};
  server_options.streams.max_streams = o.max_streams;
  Server server(
      **store, api,
      ServerParts{std::move(*poller), std::move(*signals), std::move(*listener), std::move(*tls)},
      std::move(server_options));
  return server.run();
}

}  // namespace tern::cli

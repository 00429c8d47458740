#include "doctor/relay_check.hpp"

#include <arpa/inet.h>
#include <netdb.h>
#include <sys/socket.h>

#include <algorithm>

#include <fmt/format.h>

#include "crypto/random.hpp"
#include "doctor/relay_fix.hpp"
#include "doctor/relay_probe.hpp"
#include "doctor/relay_run.hpp"
#include "io/clock.hpp"
#include "wire/stun_builder.hpp"

namespace tern::doctor {
namespace {

// Shorter than RFC 8489's 39.5 s: sends at 0, 0.25, 0.75, 1.75, 3.75 and 7.75 s, then
// 2 s more: a doctor answers in about ten seconds whatever happens.
core::RetransmitPolicy doctor_policy() {
  core::RetransmitPolicy p;
  p.rto = std::chrono::milliseconds(250);
  p.rc = 6;
  p.rm = 8;
  return p;
}
const core::RetransmitPolicy kPolicy = doctor_policy();
constexpr Duration kAllocateBudget = std::chrono::seconds(30);

Result<Endpoint> resolve(const TurnUrl& url) {
  if (auto a = IpAddress::parse(url.host)) return Endpoint{*a, url.port};
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_DGRAM;
  addrinfo* list = nullptr;
  const int rc = getaddrinfo(url.host.c_str(), nullptr, &hints, &list);
  if (rc != 0) return fail(fmt::format("cannot resolve {}: {}", url.host, gai_strerror(rc)));
  std::optional<Endpoint> found;
  // IPv4 first: the relayed address asked for is IPv4, as most deployments use.
  for (int pass = 0; pass < 2 && !found; ++pass) {
    for (auto* ai = list; ai && !found; ai = ai->ai_next) {
      const bool want_v4 = pass == 0;
      if (ai->ai_family == AF_INET && want_v4) {
        const auto* sin = reinterpret_cast<const sockaddr_in*>(ai->ai_addr);
        found = Endpoint{IpAddress::v4(ntohl(sin->sin_addr.s_addr)), url.port};
      } else if (ai->ai_family == AF_INET6 && !want_v4) {
        const auto* sin6 = reinterpret_cast<const sockaddr_in6*>(ai->ai_addr);
        std::array<uint8_t, 16> b{};
        std::copy_n(sin6->sin6_addr.s6_addr, 16, b.begin());
        found = Endpoint{IpAddress::v6(b), url.port};
      }
    }
  }
  freeaddrinfo(list);
  if (!found) return fail(fmt::format("{} has no IPv4 or IPv6 address", url.host));
  return *found;
}

// One STUN Binding transaction, resent per kPolicy.
struct Binding {
  wire::TransactionId id{};
  std::vector<uint8_t> message;
  core::StunRetransmit timer;
  Instant first{};
  std::optional<Endpoint> mapped;
  std::optional<Duration> rtt;
  std::string error;  // an error response
  bool timed_out = false;

  Binding(Instant now) : timer(core::StunTransport::kUdp, now, kPolicy), first(now) {
    crypto::random_bytes(id);
    message.resize(wire::kStunMaxUdpMessage);
    wire::StunBuilder b(message, wire::StunMethod::kBinding, wire::StunClass::kRequest, id);
    b.add_text(wire::StunAttr::kSoftware, "tern doctor").add_fingerprint();
    message.resize(b.size());
  }
  bool done() const { return mapped || !error.empty() || timed_out; }

  // True when `data` answered this transaction.
  bool receive(Bytes data, Instant now) {
    auto m = wire::StunMessage::parse(data);
    if (!m || m->transaction_id() != id || m->method() != wire::StunMethod::kBinding) return false;
    if (m->is_error()) {
      error = "the server answered the Binding request with an error";
      return true;
    }
    if (!m->is_success()) return false;
    if (auto a = m->find(wire::StunAttr::kXorMappedAddress)) {
      mapped = wire::decode_xor_address(a->value, id);
    } else if (auto b = m->find(wire::StunAttr::kMappedAddress)) {
      mapped = wire::decode_address(b->value);
    }
    if (!mapped) error = "the Binding response carries no (XOR-)MAPPED-ADDRESS";
    rtt = now - first;
    return true;
  }
};

// Client and peer sockets each ask the server for their mapped address at once.
bool check_reachability(RelayRun& run) {
  auto& r = run.result;
  run.say(fmt::format("reachability: STUN Binding to {} over UDP", run.server.to_string()));
  const Instant start = io::monotonic_now();
  Binding client(start);
  Binding peer(start);
  run.session.on_client = [&](const Endpoint& from, Bytes data, Instant now) {
    if (from == run.server && !client.done()) (void)client.receive(data, now);
  };
  run.session.on_peer = [&](const Endpoint& from, Bytes data, Instant now) {
    if (from == run.server && !peer.done()) (void)peer.receive(data, now);
  };
  (void)run.session.send_from_client(run.server, client.message);
  (void)run.session.send_from_peer(run.server, peer.message);
  while (!client.done() || !peer.done()) {
    Instant deadline = start + std::chrono::hours(1);
    for (auto* b : {&client, &peer}) {
      if (!b->done() && b->timer.deadline()) deadline = std::min(deadline, *b->timer.deadline());
    }
    if (auto s = run.session.poll(deadline); !s) {
      r.reachability = {CheckStatus::kFail, s.error().message, "run the check again"};
      return false;
    }
    const Instant now = io::monotonic_now();
    for (auto* b : {&client, &peer}) {
      if (b->done() || !b->timer.deadline() || now < *b->timer.deadline()) continue;
      const auto due = b->timer.poll(now);
      if (due == core::StunRetransmit::Due::kTimedOut) {
        b->timed_out = true;
      } else if (due == core::StunRetransmit::Due::kRetransmit) {
        const bool is_client = b == &client;
        (void)(is_client ? run.session.send_from_client(run.server, b->message)
                         : run.session.send_from_peer(run.server, b->message));
      }
    }
  }
  if (client.timed_out) {
    core::TurnErrorContext ctx;
    ctx.host = run.url.host;
    ctx.port = run.url.port;
    ctx.transport = core::StunTransport::kUdp;
    ctx.method = wire::StunMethod::kBinding;
    const auto e = core::turn_timeout_error(ctx, io::monotonic_now() - start);
    r.reachability = {CheckStatus::kFail,
                      fmt::format("{} ({} Binding requests sent)", e.message, client.timer.sends()),
                      fix_for(core::TurnErrorKind::kTimeout, run.url)};
    r.error_kind = std::string(core::turn_error_kind_name(e.kind));
    return false;
  }
  if (!client.error.empty()) {
    r.reachability = {CheckStatus::kFail, client.error, "check that the port serves STUN/TURN"};
    return false;
  }
  r.mapped = client.mapped;
  r.binding_rtt = client.rtt;
  // Without NAT in between, the mapped address is the local one: the peer then shares it.
  run.peer = peer.mapped ? *peer.mapped : Endpoint{client.mapped->address, 0};
  r.peer = run.peer;
  r.reachability = {
      CheckStatus::kPass,
      fmt::format("STUN Binding answered in {:.1f} ms; mapped address {}",
                  static_cast<double>(client.rtt->count()) / 1e6, client.mapped->to_string()),
      ""};
  return true;
}

std::optional<core::TurnCredentials> credentials_for(const RelayCheckOptions& o) {
  if (o.credentials) return o.credentials;
  if (o.secret) {
    const int64_t now_unix = io::wall_now().unix_ns / 1'000'000'000;
    const int64_t ttl = std::chrono::duration_cast<std::chrono::seconds>(o.rest_ttl).count();
    return core::rest_credentials(*o.secret, o.rest_name, now_unix + ttl);
  }
  return std::nullopt;
}

bool check_allocation(RelayRun& run) {
  auto& r = run.result;
  auto credentials = credentials_for(run.options);
  if (!credentials) {
    r.authentication = {CheckStatus::kFail, "no credentials given",
                        "pass --user U --password P or --secret S (or check stun:" +
                            run.url.server() + " for reachability only)"};
    return false;
  }
  run.say(fmt::format("authentication and allocation: Allocate as \"{}\"", credentials->username));
  core::TurnConfig config;
  config.server_host = run.url.host;
  config.server_port = run.url.port;
  config.transport = core::StunTransport::kUdp;
  config.credentials = *credentials;
  config.family = run.server.address.family();
  config.retransmit = kPolicy;
  config.software = "tern doctor";
  Instant now = io::monotonic_now();
  run.client.emplace(config, now);
  run.client->set_wall_clock(io::wall_now(), io::monotonic_now());

  std::optional<core::TurnAllocated> allocated;
  std::optional<core::TurnError> failed;
  run.on_event = [&](const core::TurnEvent& e, Instant) {
    if (auto* a = std::get_if<core::TurnAllocated>(&e)) allocated = *a;
    if (auto* f = std::get_if<core::TurnFailed>(&e)) failed = f->error;
  };
  const Instant deadline = now + kAllocateBudget;
  while (!allocated && !failed && io::monotonic_now() < deadline) {
    if (!run.step(deadline)) break;
  }
  if (failed) {
    r.error_kind = std::string(core::turn_error_kind_name(failed->kind));
    const auto fix = fix_for(failed->kind, run.url);
    if (is_authentication_error(failed->kind)) {
      r.authentication = {CheckStatus::kFail, failed->message, fix};
    } else {
      if (implies_authenticated(failed->kind)) {
        r.authentication = {CheckStatus::kPass, "credentials accepted", ""};
      }
      r.allocation = {CheckStatus::kFail, failed->message, fix};
    }
    return false;
  }
  if (!allocated) {
    r.allocation = {CheckStatus::kFail, "no allocation within the time allowed",
                    "look at the server's log"};
    return false;
  }
  r.authentication = {CheckStatus::kPass,
                      fmt::format("credentials of \"{}\" accepted", credentials->username), ""};
  r.relayed = allocated->relayed;
  if (allocated->mapped) r.mapped = allocated->mapped;
  r.allocation_lifetime = allocated->lifetime;
  const auto secs = std::chrono::duration_cast<std::chrono::seconds>(allocated->lifetime).count();
  r.allocation = {
      CheckStatus::kPass,
      fmt::format("relayed address {}, lifetime {} s", allocated->relayed.to_string(), secs), ""};
  if (is_non_public(allocated->relayed.address) && !is_non_public(run.server.address)) {
    r.allocation.status = CheckStatus::kWarn;
    r.allocation.detail += fmt::format(
        "; the relayed address is private while the server is reached at {}: peers on the "
        "internet cannot send to it",
        run.server.address.to_string());
    r.allocation.fix =
        "the server is behind NAT: tell it its public address (coturn: external-ip=PUBLIC/PRIVATE)";
  }
  return true;
}

}  // namespace

void RelayRun::flush() {
  if (!client) return;
  while (auto m = client->poll_transmit())
    (void)session.send_from_client(server, *m);
}

bool RelayRun::step(Instant deadline) {
  flush();
  Instant until = deadline;
  if (client) {
    if (auto t = client->poll_timeout()) until = std::min(until, *t);
  }
  if (auto s = session.poll(until); !s) return false;
  const Instant now = io::monotonic_now();
  if (client) {
    if (auto t = client->poll_timeout(); t && *t <= now) client->handle_timeout(now);
    while (auto e = client->poll_event()) {
      if (on_event) on_event(*e, now);
    }
    flush();
  }
  return true;
}

RelayUrlResult check_relay(const TurnUrl& url, const RelayCheckOptions& options,
                           const Progress& progress) {
  RelayUrlResult r;
  r.url = url.to_string();
  r.transport = std::string(url_transport_name(url.transport));
  if (url.transport != UrlTransport::kUdp) {
    r.reachability = {
        CheckStatus::kFail,
        fmt::format("{} over {} is not yet supported by this build", url.server(), r.transport),
        "check turn:" + url.server() + "?transport=udp for now"};
    return r;
  }
  if (progress) progress(fmt::format("{}: resolving {}", r.url, url.host));
  auto server = resolve(url);
  if (!server) {
    r.resolve = {CheckStatus::kFail, server.error().message,
                 "check the name, or give the server's IP address"};
    return r;
  }
  r.server = *server;
  r.resolve = {CheckStatus::kPass, server->to_string(), ""};
  auto session = RelaySession::open(*server);
  if (!session) {
    r.reachability = {CheckStatus::kFail, session.error().message, "check local networking"};
    return r;
  }
  RelayRun run{url, options, progress, r, *server, std::move(*session), {}, {}, 0, {}, {}};
  if (!check_reachability(run)) return r;
  if (!url.is_turn()) return r;
  // From here the client socket belongs to the TURN client.
  run.session.on_client = [&run](const Endpoint& from, Bytes data, Instant now) {
    if (!run.client || from != run.server) return;
    auto got = run.client->handle_input(data, now);
    if (got.kind == core::TurnReceive::Kind::kData && run.on_data) {
      run.on_data(got.peer, got.payload, now);
    }
  };
  run.session.on_peer = nullptr;
  if (!check_allocation(run)) return r;
  if (run_round_trip(run)) run_largest_packet(run);
  // Leave nothing behind on the server.
  run.on_event = nullptr;
  run.on_data = nullptr;
  run.client->close(io::monotonic_now());
  const Instant until = io::monotonic_now() + std::chrono::seconds(2);
  while (run.client->state_name() == "closing" && io::monotonic_now() < until) {
    if (!run.step(until)) break;
  }
  return r;
}

}  // namespace tern::doctor

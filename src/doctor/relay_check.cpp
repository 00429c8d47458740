#include "doctor/relay_check.hpp"

#include <arpa/inet.h>
#include <netdb.h>
#include <sys/socket.h>

#include <algorithm>

#include <fmt/format.h>

#include "doctor/relay_binding.hpp"
#include "doctor/relay_findings.hpp"
#include "doctor/relay_fix.hpp"
#include "doctor/relay_probe.hpp"
#include "doctor/relay_run.hpp"
#include "doctor/relay_stream.hpp"
#include "doctor/relay_tls.hpp"
#include "io/clock.hpp"

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
// Over TCP/TLS the peer socket still needs its own address as the relay will see it: a UDP
// Binding to the server's port, given up soon (the server may not serve UDP there).
core::RetransmitPolicy peer_policy() {
  core::RetransmitPolicy p;
  p.rto = std::chrono::milliseconds(250);
  p.rc = 3;
  p.rm = 4;
  return p;
}

core::StunTransport stun_transport(UrlTransport t) {
  switch (t) {
    case UrlTransport::kTcp:
      return core::StunTransport::kTcp;
    case UrlTransport::kTls:
      return core::StunTransport::kTls;
    case UrlTransport::kUdp:
    case UrlTransport::kDtls:
      break;
  }
  return core::StunTransport::kUdp;
}

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

// Client and peer sockets each ask the server for their mapped address at once.
bool check_reachability(RelayRun& run) {
  auto& r = run.result;
  const auto transport = stun_transport(run.url.transport);
  const bool stream = core::is_stream(transport);
  run.say(fmt::format("reachability: STUN Binding to {} over {}", run.server.to_string(),
                      core::stun_transport_name(transport)));
  const Instant start = io::monotonic_now();
  RelayBinding client(start, transport, kPolicy);
  RelayBinding peer(start, core::StunTransport::kUdp, stream ? peer_policy() : kPolicy);
  run.session.on_client = [&](const Endpoint& from, Bytes data, Instant now) {
    client.receive(from, run.server, data, now);
  };
  run.session.on_peer = [&](const Endpoint& from, Bytes data, Instant now) {
    peer.receive(from, run.server, data, now);
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
    if (!run.session.stream_error().empty() && !client.done()) {
      r.reachability = {CheckStatus::kFail, run.session.stream_error(),
                        "the server dropped the connection at the first STUN message: look at "
                        "its log; check that this port serves TURN over " +
                            std::string(core::stun_transport_name(transport))};
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
    ctx.transport = transport;
    ctx.method = wire::StunMethod::kBinding;
    const Duration waited = io::monotonic_now() - start;
    // Answers that came but could not be used: the server is there, and broken.
    const auto e = client.unusable.total() > 0
                       ? core::turn_server_fault_error(ctx, waited, client.unusable)
                       : core::turn_timeout_error(ctx, waited);
    r.reachability = {CheckStatus::kFail,
                      fmt::format("{} ({} Binding requests sent)", e.message, client.timer.sends()),
                      fix_for(e.kind, run.url)};
    r.error_kind = std::string(core::turn_error_kind_name(e.kind));
    return false;
  }
  if (!client.error.empty()) {
    // It answered, so it is reachable; refusing a Binding is its fault.
    r.reachability = {CheckStatus::kFail, client.error,
                      "check that the port serves STUN/TURN, and the server's log"};
    r.error_kind = std::string(core::turn_error_kind_name(core::TurnErrorKind::kServerFault));
    return false;
  }
  r.mapped = client.mapped;
  r.binding_rtt = client.rtt;
  // Without NAT in between, the mapped address is the local one: the peer then shares it.
  run.peer = peer.mapped ? *peer.mapped : Endpoint{client.mapped->address, run.session.peer_port()};
  r.peer = run.peer;
  std::string connect;
  if (r.connect_time) {
    connect =
        fmt::format("TCP connect {:.1f} ms; ", static_cast<double>(r.connect_time->count()) / 1e6);
  }
  r.reachability = {
      CheckStatus::kPass,
      fmt::format("{}STUN Binding answered in {:.1f} ms; mapped address {}", connect,
                  static_cast<double>(client.rtt->count()) / 1e6, client.mapped->to_string()),
      ""};
  return true;
}

std::optional<core::TurnCredentials> credentials_for(const RelayCheckOptions& o) {
  if (o.credentials) return o.credentials;
  if (o.secret) {
    const int64_t now_unix = io::wall_now().unix_ns / 1'000'000'000;
    const int64_t ttl = std::chrono::duration_cast<std::chrono::seconds>(o.rest_ttl).count();
    return make_rest_credentials(o, now_unix + ttl);
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
  const bool made_here = !run.options.credentials;
  Instant now = io::monotonic_now();
  run.client.emplace(relay_turn_config(run.url, run.server, *credentials), now);
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
      note_rest(run, *credentials, made_here, false);
    } else {
      if (implies_authenticated(failed->kind)) {
        r.authentication = {CheckStatus::kPass, "credentials accepted", ""};
      }
      r.allocation = {CheckStatus::kFail, failed->message, fix};
    }
    return false;
  }
  if (!allocated) {
    if (!run.session.stream_error().empty()) {
      r.allocation = {CheckStatus::kFail, run.session.stream_error(),
                      "the server closed the connection during the allocation: look at its log"};
      return false;
    }
    r.allocation = {CheckStatus::kFail, "no allocation within the time allowed",
                    "look at the server's log"};
    return false;
  }
  r.authentication = {CheckStatus::kPass,
                      fmt::format("credentials of \"{}\" accepted", credentials->username), ""};
  note_rest(run, *credentials, made_here, true);
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

TlsReport tls_report(const RelayStreamFacts& f) {
  TlsReport t;
  t.protocol = f.protocol;
  t.cipher = f.cipher;
  t.handshake_time = f.handshake_time;
  if (const auto& c = f.certificate) {
    t.has_certificate = true;
    t.subject = c->subject;
    t.issuer = c->issuer;
    t.names = c->names;
    t.not_before_unix = c->not_before.unix_ns / 1'000'000'000;
    t.not_after_unix = c->not_after.unix_ns / 1'000'000'000;
    t.trusted = c->chain_trusted;
    t.verify_error = c->verify_error;
    t.name_matches = c->name_matches;
    t.self_signed = c->self_signed;
  }
  return t;
}

// TCP connect and, for turns:, the TLS handshake; the report gets the timings and the
// certificate's verdict. False when the stream could not be set up.
bool connect_stream(const TurnUrl& url, const RelayCheckOptions& options, RelayUrlResult& r,
                    RelaySession& session, const Progress& progress) {
  const bool tls = url.transport == UrlTransport::kTls;
  if (progress) {
    progress(fmt::format("reachability: {} connect to {}", tls ? "TCP and TLS" : "TCP",
                         r.server->to_string()));
  }
  RelayStreamSetup setup;
  setup.tls = tls;
  setup.server_name = url.host;
  setup.ca_file = options.ca_file;
  auto stream = RelayStream::connect(*r.server, setup);
  if (!stream) {
    if (stream.error().step == RelayStreamFailure::Step::kConnect) {
      r.reachability = {CheckStatus::kFail, stream.error().message,
                        fmt::format("open TCP port {} on {} and on the firewalls in between; "
                                    "check the server listens on TCP there (coturn: no-tcp{})",
                                    url.port, url.host, tls ? ", tls-listening-port" : "")};
      r.error_kind = "unreachable";
    } else {
      r.reachability = {CheckStatus::kPass, "the TCP port is open", ""};
      r.tls = {CheckStatus::kFail, stream.error().message,
               "check that the port serves TLS (coturn: tls-listening-port, cert=, pkey=) and "
               "look at the server's log for the handshake"};
      r.error_kind = "tls";
    }
    return false;
  }
  r.connect_time = stream->facts().connect_time;
  if (tls) {
    r.tls_facts = tls_report(stream->facts());
    r.tls = judge_tls(*r.tls_facts, url.host, io::wall_now().unix_ns / 1'000'000'000);
  }
  if (auto s = session.attach_stream(std::move(*stream)); !s) {
    r.reachability = {CheckStatus::kFail, s.error().message, "run the check again"};
    return false;
  }
  return true;
}

}  // namespace

core::TurnConfig relay_turn_config(const TurnUrl& url, const Endpoint& server,
                                   const core::TurnCredentials& credentials) {
  core::TurnConfig config;
  config.server_host = url.host;
  config.server_port = url.port;
  config.transport = stun_transport(url.transport);
  config.credentials = credentials;
  config.family = server.address.family();
  config.retransmit = kPolicy;
  config.software = "tern doctor";
  return config;
}

void RelayRun::flush() {
  if (!client) return;
  while (auto m = client->poll_transmit())
    (void)session.send_from_client(server, *m);
}

bool RelayRun::step(Instant deadline) {
  if (!session.stream_error().empty()) return false;
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

namespace {

RelayUrlResult check_steps(const TurnUrl& url, const RelayCheckOptions& options,
                           const Progress& progress) {
  RelayUrlResult r;
  r.url = url.to_string();
  r.transport = std::string(url_transport_name(url.transport));
  if (url.transport == UrlTransport::kDtls) {
    r.reachability = {CheckStatus::kFail,
                      fmt::format("{} over DTLS is not supported by this build", url.server()),
                      "check turns:" + url.server() +
                          "?transport=tcp (TLS) or turn:" + url.server() + "?transport=udp"};
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
  if (url.transport == UrlTransport::kTcp || url.transport == UrlTransport::kTls) {
    if (!connect_stream(url, options, r, *session, progress)) return r;
  }
  RelayRun run{url, options, progress, r, *server, std::move(*session), {}, {}, 0, {}, {}};
  if (!check_reachability(run) || !url.is_turn()) return r;
  // From here the client socket belongs to the TURN client.
  run.session.on_client = [&run](const Endpoint& from, Bytes data, Instant now) {
    if (!run.client) return;
    if (from != run.server) return run.client->handle_wrong_source(data, from);
    auto got = run.client->handle_input(data, now);
    if (got.kind == core::TurnReceive::Kind::kData && run.on_data) {
      run.on_data(got.peer, got.payload, now);
    }
  };
  run.session.on_peer = nullptr;
  if (!check_allocation(run)) return r;
  if (run_round_trip(run)) {
    run_rate_steps(run);
    if (options.largest_search_budget > Duration::zero()) {
      run_largest_packet(run);
    } else {
      r.largest_packet = {CheckStatus::kSkipped, "not searched (--largest-search 0)", ""};
    }
  }
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

}  // namespace

RelayUrlResult check_relay(const TurnUrl& url, const RelayCheckOptions& options,
                           const Progress& progress) {
  auto r = check_steps(url, options, progress);
  r.findings = relay_findings(r);
  return r;
}

}  // namespace tern::doctor

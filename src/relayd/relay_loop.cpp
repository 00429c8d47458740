#include "relayd/relay_loop.hpp"

#include <sys/socket.h>

#include <array>
#include <csignal>
#include <cstring>
#include <vector>

#include "base/log.hpp"
#include "io/clock.hpp"
#include "io/poller.hpp"
#include "io/signals.hpp"
#include "io/udp_socket.hpp"
#include "relay/server.hpp"
#include "relayd/metrics_http.hpp"
#include "relayd/relay_ports.hpp"
#include "relayd/stream_server.hpp"
#include "relayd/tls_context.hpp"

namespace tern::relayd {
namespace {

constexpr uint64_t kTokenSignal = 0;
constexpr uint64_t kTokenListener = 1;  // + listener index
constexpr uint64_t kTokenMetrics = 1000;
constexpr uint64_t kTokenTcp = uint64_t{1} << 24;  // + listener, then + connection slot
constexpr uint64_t kTokenTls = uint64_t{1} << 28;
constexpr uint64_t kTokenRelay = uint64_t{1} << 32;  // + relay slot

constexpr size_t kBatch = 64;
// A listener carries every client's traffic, so a moment without CPU must not overflow it:
// the relay runs on one thread, and on a busy host that thread may wait 100 ms and more for a
// core. 16 MiB (the kernel counts twice that with its overhead) holds about 7000 datagrams of
// 1 KB, 140 ms of 50,000 packets/s; the kernel's default, 208 KiB, holds about 100. The memory
// is only used while datagrams wait.
constexpr int kListenerBuffer = 16 << 20;
constexpr size_t kMaxDatagram = 65536;
// A slab slot holds one outgoing datagram: room for the core's header in front
// of peer data, the largest datagram and the padding after it.
constexpr size_t kSlot = relay::kPeerHeadroom + kMaxDatagram + relay::kPeerTailroom + 13;
// Batches read from one socket per wakeup, so one busy socket cannot starve the rest.
constexpr int kReadsPerWakeup = 8;

struct Outgoing {
  bool listener = false;
  size_t listener_index = 0;
  RelaySocketRef relay;
  Endpoint to;
  size_t offset = 0;  // in the slab
  size_t length = 0;
  bool sent = false;
};

}  // namespace

struct RelayDaemon::State final : StreamSink {
  State(const RelaydConfig& c, io::Poller p, io::SignalFd s)
      : config(c), poller(std::move(p)), signals(std::move(s)) {}

  RelaydConfig config;
  io::Poller poller;
  io::SignalFd signals;
  std::vector<io::UdpSocket> listeners;
  std::vector<Endpoint> listener_at;
  std::unique_ptr<UdpPortAllocator> ports;  // outlives the server, which closes its sockets
  std::unique_ptr<relay::RelayServer> server;
  std::optional<MetricsServer> metrics;
  std::unique_ptr<TlsContext> tls;
  std::unique_ptr<StreamServer> tcp;          // TURN over TCP
  std::unique_ptr<StreamServer> tls_streams;  // TURN over TLS

  io::RecvBatch recv{kBatch, kMaxDatagram};
  io::SendBatch send{kBatch};
  std::vector<uint8_t> slab = std::vector<uint8_t>(kBatch * kSlot);
  std::array<Outgoing, kBatch> out{};
  size_t out_count = 0;
  uint64_t send_failures = 0;
  uint64_t truncated = 0;

  uint8_t* slot(size_t i) { return slab.data() + i * kSlot; }
  void queue(const relay::Transmit& tx);
  void flush();
  void pump_listener(size_t index, Instant now);
  void pump_relay(uint64_t token, Instant now);
  std::string metrics_text() const;
  StreamServer* streams(relay::Transport t) {
    return t == relay::Transport::kTcp   ? tcp.get()
           : t == relay::Transport::kTls ? tls_streams.get()
                                         : nullptr;
  }
  std::optional<Instant> stream_deadline() const;

  void on_frame(const relay::FiveTuple& tuple, Bytes frame, Instant now) override {
    if (auto tx = server->handle_client(tuple, frame, now)) queue(*tx);
  }
  void on_closed(const relay::FiveTuple& tuple) override { server->connection_closed(tuple); }
};

std::optional<Instant> RelayDaemon::State::stream_deadline() const {
  std::optional<Instant> d;
  for (const auto* st : {tcp.get(), tls_streams.get()}) {
    if (!st) continue;
    if (auto t = st->next_deadline(); t && (!d || *t < *d)) d = t;
  }
  return d;
}

void RelayDaemon::State::queue(const relay::Transmit& tx) {
  if (tx.transport != relay::Transport::kUdp && tx.source == relay::Transmit::Source::kListener) {
    // On the connection of the 5-tuple; a full queue drops the frame (counted there).
    StreamServer* st = streams(tx.transport);
    if (!st || !st->send(tx.to, tx.from, tx.data)) ++send_failures;
    return;
  }
  Outgoing o;
  if (tx.source == relay::Transmit::Source::kListener) {
    size_t i = 0;
    while (i < listener_at.size() && listener_at[i] != tx.from)
      ++i;
    if (i == listener_at.size()) {
      ++send_failures;
      return;
    }
    o.listener = true;
    o.listener_index = i;
  } else {
    auto ref = ports->find(tx.from);
    if (!ref) {
      ++send_failures;
      return;
    }
    o.relay = *ref;
  }
  if (out_count == kBatch) flush();
  if (tx.data.size() > kSlot) {
    ++send_failures;
    return;
  }
  uint8_t* base = slot(out_count);
  o.to = tx.to;
  o.length = tx.data.size();
  // Peer data was read into this slot and framed there in place; anything else
  // (the client's message, the core's reply buffer) is copied in.
  if (tx.data.data() >= base && tx.data.data() + tx.data.size() <= base + kSlot) {
    o.offset = static_cast<size_t>(tx.data.data() - slab.data());
  } else {
    std::memcpy(base, tx.data.data(), tx.data.size());
    o.offset = out_count * kSlot;
  }
  out[out_count++] = o;
}

void RelayDaemon::State::flush() {
  for (size_t i = 0; i < out_count; ++i) {
    if (out[i].sent) continue;
    const Outgoing& head = out[i];
    io::UdpSocket* sock =
        head.listener ? &listeners[head.listener_index] : ports->resolve(head.relay);
    send.clear();
    // One sendmmsg per socket: gather every datagram that leaves from it.
    for (size_t j = i; j < out_count; ++j) {
      Outgoing& o = out[j];
      if (o.sent || o.listener != head.listener) continue;
      if (o.listener
              ? o.listener_index != head.listener_index
              : o.relay.slot != head.relay.slot || o.relay.generation != head.relay.generation) {
        continue;
      }
      o.sent = true;
      if (sock) (void)send.add(o.to, Bytes(slab.data() + o.offset, o.length));
    }
    if (!sock) continue;  // its allocation ended meanwhile
    auto n = sock->send(send);
    if (!n) {
      log::warn("send failed: {}", n.error().message);
      send_failures += send.size();
      continue;
    }
    // The socket buffer is full: the rest is dropped, as a router would.
    send_failures += send.size() - *n;
    for (size_t k = 0; k < *n; ++k)
      send_failures += send.error(k) != 0;
  }
  out_count = 0;
  for (auto& o : out)
    o.sent = false;
}

void RelayDaemon::State::pump_listener(size_t index, Instant now) {
  for (int round = 0; round < kReadsPerWakeup; ++round) {
    auto n = listeners[index].recv(recv);
    if (!n) {
      log::warn("listener {}: {}", listener_at[index].to_string(), n.error().message);
      return;
    }
    for (size_t i = 0; i < *n; ++i) {
      if (recv.truncated(i)) {
        ++truncated;
        continue;
      }
      const relay::FiveTuple t{recv.from(i), listener_at[index], relay::Transport::kUdp};
      if (auto tx = server->handle_client(t, recv.data(i), now)) queue(*tx);
    }
    flush();
    if (*n < recv.capacity()) return;
  }
}

void RelayDaemon::State::pump_relay(uint64_t token, Instant now) {
  for (int round = 0; round < kReadsPerWakeup; ++round) {
    Endpoint relayed;
    io::UdpSocket* sock = ports->socket(token, &relayed);
    if (!sock) return;
    auto n = sock->recv(recv);
    if (!n) {
      log::warn("relay socket {}: {}", relayed.to_string(), n.error().message);
      return;
    }
    for (size_t i = 0; i < *n; ++i) {
      Bytes d = recv.data(i);
      if (recv.truncated(i)) {
        ++truncated;
        continue;
      }
      if (out_count == kBatch) flush();
      uint8_t* base = slot(out_count);
      std::memcpy(base + relay::kPeerHeadroom, d.data(), d.size());
      auto tx =
          server->handle_peer(relayed, recv.from(i), MutableBytes(base, kSlot), d.size(), now);
      if (tx) queue(*tx);
    }
    // No flush here: what this socket's datagrams became leaves through the listener, and
    // the other relay sockets ready in this wakeup add to the same sendmmsg (run() flushes).
    if (*n < recv.capacity()) return;
  }
}

std::string RelayDaemon::State::metrics_text() const {
  std::string text = server->metrics_text();
  text += "# HELP tern_relay_relay_sockets Relay sockets open, one per allocation.\n";
  text += "# TYPE tern_relay_relay_sockets gauge\n";
  text += "tern_relay_relay_sockets " + std::to_string(ports->open_count()) + "\n";
  text +=
      "# HELP tern_relay_send_failures_total Datagrams the kernel did not send (socket buffer "
      "full, no route, firewall).\n";
  text += "# TYPE tern_relay_send_failures_total counter\n";
  text += "tern_relay_send_failures_total " + std::to_string(send_failures) + "\n";
  text += "# HELP tern_relay_truncated_total Datagrams larger than the receive buffer.\n";
  text += "# TYPE tern_relay_truncated_total counter\n";
  text += "tern_relay_truncated_total " + std::to_string(truncated) + "\n";
  text += stream_metrics_text({tcp.get(), tls_streams.get()});
  return text;
}

Result<std::unique_ptr<RelayDaemon>> RelayDaemon::start(const RelaydConfig& config) {
  auto poller = io::Poller::create();
  if (!poller) return fail(poller.error().message);
  auto signals = io::SignalFd::create();
  if (!signals) return fail(signals.error().message);
  auto s = std::make_unique<State>(config, std::move(*poller), std::move(*signals));

  for (const auto& at : config.listen) {
    auto sock = io::UdpSocket::bind(at);
    if (!sock) {
      return fail("--listen " + at.to_string() + ": " + sock.error().message +
                  " (a port below 1024 needs root; a specific address must be on an interface)");
    }
    // FORCE passes net.core.[rw]mem_max when the relay runs as root; otherwise the plain
    // option takes what those allow.
    for (auto [force, plain] :
         {std::pair{SO_RCVBUFFORCE, SO_RCVBUF}, {SO_SNDBUFFORCE, SO_SNDBUF}}) {
      if (::setsockopt(sock->fd(), SOL_SOCKET, force, &kListenerBuffer, sizeof kListenerBuffer)) {
        (void)::setsockopt(sock->fd(), SOL_SOCKET, plain, &kListenerBuffer, sizeof kListenerBuffer);
      }
    }
    s->listeners.push_back(std::move(*sock));
    s->listener_at.push_back(at);
  }
  const Instant now = io::monotonic_now();
  s->ports = std::make_unique<UdpPortAllocator>(
      config.relay_addresses, config.port_min, config.port_max, s->poller, kTokenRelay,
      static_cast<uint64_t>(to_ns(now)) ^ static_cast<uint64_t>(io::wall_now().unix_ns));
  auto server = relay::RelayServer::create(config.relay, *s->ports);
  if (!server) return fail(server.error().message);
  s->server = std::move(*server);
  s->server->set_wall_clock(io::wall_now(), now);

  StreamLimits limits;
  limits.max_connections = config.max_connections;
  if (!config.tcp_listen.empty()) {
    auto st = StreamServer::listen(config.tcp_listen, relay::Transport::kTcp, nullptr, s->poller,
                                   kTokenTcp, limits, "--listen");
    if (!st) return fail(st.error().message);
    s->tcp = std::move(*st);
  }
  if (!config.tls_listen.empty()) {
    auto ctx = TlsContext::load(config.tls_cert, config.tls_key);
    if (!ctx) return fail(ctx.error().message);
    s->tls = std::move(*ctx);
    auto st = StreamServer::listen(config.tls_listen, relay::Transport::kTls, s->tls.get(),
                                   s->poller, kTokenTls, limits, "--tls-port");
    if (!st) return fail(st.error().message);
    s->tls_streams = std::move(*st);
  }

  if (config.metrics) {
    auto m = MetricsServer::listen(*config.metrics, s->poller, kTokenMetrics);
    if (!m) return fail(m.error().message);
    s->metrics.emplace(std::move(*m));
  }
  if (auto st = s->poller.add(s->signals.fd(), kTokenSignal, true, false); !st) {
    return fail(st.error().message);
  }
  for (size_t i = 0; i < s->listeners.size(); ++i) {
    if (auto st = s->poller.add(s->listeners[i].fd(), kTokenListener + i, true, false); !st) {
      return fail(st.error().message);
    }
  }

  std::string listen_text, relay_text;
  for (const auto& l : config.listen)
    listen_text += (listen_text.empty() ? "" : ", ") + l.to_string();
  for (const auto* st : {s->tcp.get(), s->tls_streams.get()}) {
    if (!st) continue;
    listen_text += std::string("; ") + std::string(relay::transport_name(st->transport())) + " ";
    for (size_t i = 0; i < st->bound().size(); ++i)
      listen_text += (i ? ", " : "") + st->bound()[i].to_string();
  }
  for (const auto& a : config.relay_addresses) {
    relay_text += (relay_text.empty() ? "" : ", ") + a.to_string();
  }
  log::info(
      "tern relay: STUN/TURN on udp {}; relayed addresses {} ports {}-{}; realm {}, {} "
      "user(s), {} REST secret(s){}",
      listen_text, relay_text, config.port_min, config.port_max, config.relay.realm,
      config.relay.users.size(), config.relay.shared_secrets.size(),
      config.relay.discovery ? "; RFC 5780 behaviour discovery on" : "");
  if (s->metrics) {
    log::info("metrics on http://{}/metrics",
              Endpoint{config.metrics->address, s->metrics->port()}.to_string());
  }
  return std::unique_ptr<RelayDaemon>(new RelayDaemon(std::move(s)));
}

RelayDaemon::RelayDaemon(std::unique_ptr<State> state) : state_(std::move(state)) {}
RelayDaemon::~RelayDaemon() = default;

Status RelayDaemon::run() {
  State& s = *state_;
  std::array<io::Ready, 64> ready;
  const auto body = [&s] { return s.metrics_text(); };
  for (;;) {
    Instant now = io::monotonic_now();
    s.server->set_wall_clock(io::wall_now(), now);
    std::optional<Instant> deadline = s.server->poll_timeout();
    if (s.metrics) {
      if (auto m = s.metrics->next_deadline(); m && (!deadline || *m < *deadline)) deadline = m;
    }
    if (auto m = s.stream_deadline(); m && (!deadline || *m < *deadline)) deadline = m;
    std::optional<Duration> timeout;
    if (deadline) timeout = *deadline > now ? *deadline - now : Duration::zero();
    auto n = s.poller.wait(timeout, ready);
    if (!n) return fail(n.error().message);
    now = io::monotonic_now();
    for (size_t i = 0; i < *n; ++i) {
      const uint64_t token = ready[i].token;
      if (token == kTokenSignal) {
        if (auto sig = s.signals.read(); sig && *sig != SIGHUP) {
          log::info("signal {}: closing {} allocation(s) and stopping", *sig,
                    s.server->allocation_count());
          if (s.tcp) s.tcp->close_all(s);
          if (s.tls_streams) s.tls_streams->close_all(s);
          return {};
        }
      } else if (token >= kTokenRelay) {
        s.pump_relay(token, now);
      } else if (s.tcp && s.tcp->owns(token)) {
        s.tcp->ready(ready[i], now, s);
        s.flush();  // what its frames asked to send to peers
      } else if (s.tls_streams && s.tls_streams->owns(token)) {
        s.tls_streams->ready(ready[i], now, s);
        s.flush();
      } else if (s.metrics && s.metrics->owns(token)) {
        s.metrics->ready(token, now, body);
      } else if (token >= kTokenListener && token - kTokenListener < s.listeners.size()) {
        s.pump_listener(token - kTokenListener, now);
      }
    }
    s.flush();  // peer data for the clients, gathered over every relay socket read above
    if (auto t = s.server->poll_timeout(); t && *t <= now) s.server->handle_timeout(now);
    if (s.metrics) s.metrics->expire(now);
    if (s.tcp) s.tcp->expire(now, s);
    if (s.tls_streams) s.tls_streams->expire(now, s);
  }
}

}  // namespace tern::relayd

#include "relayd/relay_loop.hpp"

#include <array>
#include <csignal>
#include <cstring>
#include <vector>

#include "base/log.hpp"
#include "io/clock.hpp"
#include "io/poller.hpp"
#include "relay/server.hpp"
#include "relayd/metrics_http.hpp"
#include "relayd/prometheus_text.hpp"
#include "relayd/relay_ports.hpp"
#include "relayd/stream_server.hpp"

namespace tern::relayd {
namespace {

constexpr uint64_t kTokenSignal = 0;
constexpr uint64_t kTokenStop = 1;
constexpr uint64_t kTokenListener = 2;  // + listener index
constexpr uint64_t kTokenMetrics = 1000;
constexpr uint64_t kTokenTcp = uint64_t{1} << 24;  // + listener, then + connection slot
constexpr uint64_t kTokenTls = uint64_t{1} << 28;
constexpr uint64_t kTokenRelay = uint64_t{1} << 32;  // + relay slot

constexpr size_t kBatch = 64;
// A listener carries every client of its loop, so a moment without CPU must not overflow it:
// on a busy host a loop's thread may wait 100 ms and more for a core. kListenerBuffer (16 MiB;
// the kernel counts twice that with its overhead) holds about 7000 datagrams of 1 KB, 140 ms of
// 50,000 packets/s; the kernel's default, 208 KiB, holds about 100. The memory is only used
// while datagrams wait.
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

struct RelayLoop::State final : StreamSink {
  State(const RelaydConfig& c, LoopSetup s, LoopShared& sh, io::Poller p)
      : config(c), setup(std::move(s)), shared(sh), poller(std::move(p)) {}

  const RelaydConfig& config;
  LoopSetup setup;
  LoopShared& shared;
  io::Poller poller;
  std::unique_ptr<UdpPortAllocator> ports;  // outlives the server, which closes its sockets
  std::unique_ptr<relay::RelayServer> server;
  std::optional<MetricsServer> metrics;
  std::unique_ptr<StreamServer> tcp;          // TURN over TCP
  std::unique_ptr<StreamServer> tls_streams;  // TURN over TLS

  io::RecvBatch recv{kBatch, kMaxDatagram};
  io::SendBatch send{kBatch};
  std::vector<uint8_t> slab = std::vector<uint8_t>(kBatch * kSlot);
  std::array<Outgoing, kBatch> out{};
  size_t out_count = 0;
  uint64_t send_failures = 0;
  uint64_t truncated = 0;

  std::vector<io::UdpSocket>& listeners() { return setup.listeners; }
  uint8_t* slot(size_t i) { return slab.data() + i * kSlot; }
  void queue(const relay::Transmit& tx);
  void flush();
  void pump_listener(size_t index, Instant now);
  void pump_relay(uint64_t token, Instant now);
  LoopStats stats() const;
  std::string metrics_text() const;
  StreamServer* streams(relay::Transport t) {
    return t == relay::Transport::kTcp   ? tcp.get()
           : t == relay::Transport::kTls ? tls_streams.get()
                                         : nullptr;
  }
  std::optional<Instant> next_deadline() const;
  void close_streams() {
    if (tcp) tcp->close_all(*this);
    if (tls_streams) tls_streams->close_all(*this);
  }

  void on_frame(const relay::FiveTuple& tuple, Bytes frame, Instant now) override {
    if (auto tx = server->handle_client(tuple, frame, now)) queue(*tx);
  }
  void on_closed(const relay::FiveTuple& tuple) override { server->connection_closed(tuple); }
};

std::optional<Instant> RelayLoop::State::next_deadline() const {
  std::optional<Instant> d = server->poll_timeout();
  const auto earliest = [&d](std::optional<Instant> t) {
    if (t && (!d || *t < *d)) d = t;
  };
  if (metrics) earliest(metrics->next_deadline());
  for (const auto* st : {tcp.get(), tls_streams.get()}) {
    if (st) earliest(st->next_deadline());
  }
  return d;
}

void RelayLoop::State::queue(const relay::Transmit& tx) {
  if (tx.transport != relay::Transport::kUdp && tx.source == relay::Transmit::Source::kListener) {
    // On the connection of the 5-tuple; a full queue drops the frame (counted there).
    StreamServer* st = streams(tx.transport);
    if (!st || !st->send(tx.to, tx.from, tx.data)) ++send_failures;
    return;
  }
  Outgoing o;
  if (tx.source == relay::Transmit::Source::kListener) {
    size_t i = 0;
    while (i < config.listen.size() && config.listen[i] != tx.from)
      ++i;
    if (i == config.listen.size()) {
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

void RelayLoop::State::flush() {
  for (size_t i = 0; i < out_count; ++i) {
    if (out[i].sent) continue;
    const Outgoing& head = out[i];
    io::UdpSocket* sock =
        head.listener ? &listeners()[head.listener_index] : ports->resolve(head.relay);
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

void RelayLoop::State::pump_listener(size_t index, Instant now) {
  const Endpoint& at = config.listen[index];
  for (int round = 0; round < kReadsPerWakeup; ++round) {
    auto n = listeners()[index].recv(recv);
    if (!n) {
      log::warn("listener {}: {}", at.to_string(), n.error().message);
      return;
    }
    for (size_t i = 0; i < *n; ++i) {
      if (recv.truncated(i)) {
        ++truncated;
        continue;
      }
      const relay::FiveTuple t{recv.from(i), at, relay::Transport::kUdp};
      if (auto tx = server->handle_client(t, recv.data(i), now)) queue(*tx);
    }
    // Client-to-peer data leaves in one sendmmsg per relay socket over the whole batch.
    flush();
    if (*n < recv.capacity()) return;
  }
}

void RelayLoop::State::pump_relay(uint64_t token, Instant now) {
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

LoopStats RelayLoop::State::stats() const {
  LoopStats s;
  s.relay = server->counters();
  s.relay_sockets = ports->open_count();
  s.send_failures = send_failures;
  s.truncated = truncated;
  if (tcp) s.tcp = tcp->stats();
  if (tls_streams) s.tls = tls_streams->stats();
  return s;
}

std::string RelayLoop::State::metrics_text() const {
  // Every loop's counters as last published (each publishes after every wakeup), with this
  // loop's own as of now.
  shared.stats.publish(setup.index, stats());
  const LoopStats s = setup.loops > 1 ? shared.stats.sum() : stats();
  std::string text = relay::render_prometheus(s.relay);
  append_metric(text, "tern_relay_relay_sockets", "gauge",
                "Relay sockets open, one per allocation.", s.relay_sockets);
  append_metric(text, "tern_relay_send_failures_total", "counter",
                "Datagrams the kernel did not send (socket buffer full, no route, firewall).",
                s.send_failures);
  append_metric(text, "tern_relay_truncated_total", "counter",
                "Datagrams larger than the receive buffer.", s.truncated);
  append_metric(text, "tern_relay_event_loops", "gauge",
                "Event loops (threads) relaying, each with its clients.", setup.loops);
  append_family(text, "tern_relay_loop_allocations", "gauge",
                "Allocations per event loop (the kernel spreads clients over the loops by their "
                "address and port).");
  for (size_t i = 0; i < setup.loops; ++i) {
    const uint64_t n = setup.loops > 1 ? shared.stats.at(i).relay.allocations_current
                                       : s.relay.allocations_current;
    append_sample(text, "tern_relay_loop_allocations", "loop=\"" + std::to_string(i) + "\"", n);
  }
  text += stream_metrics_text({s.tcp ? &*s.tcp : nullptr, s.tls ? &*s.tls : nullptr});
  return text;
}

Result<std::unique_ptr<RelayLoop>> RelayLoop::create(const RelaydConfig& config, LoopSetup setup,
                                                     LoopShared& shared) {
  auto poller = io::Poller::create();
  if (!poller) return fail(poller.error().message);
  auto s = std::make_unique<State>(config, std::move(setup), shared, std::move(*poller));

  s->ports = std::make_unique<UdpPortAllocator>(config.relay_addresses, shared.ports, s->poller,
                                                kTokenRelay);
  auto server =
      relay::RelayServer::create(config.relay, *s->ports, shared.nonce_key, &shared.quota);
  if (!server) return fail(server.error().message);
  s->server = std::move(*server);
  s->server->set_wall_clock(io::wall_now(), io::monotonic_now());

  StreamLimits limits;
  limits.max_connections = config.max_connections;
  limits.reuse_port = s->setup.loops > 1;
  if (!s->setup.tcp_listen.empty()) {
    limits.open_total = s->setup.loops > 1 ? &shared.tcp_open : nullptr;
    auto st = StreamServer::listen(s->setup.tcp_listen, relay::Transport::kTcp, nullptr, s->poller,
                                   kTokenTcp, limits, "--listen");
    if (!st) return fail(st.error().message);
    s->tcp = std::move(*st);
  }
  if (!s->setup.tls_listen.empty()) {
    limits.open_total = s->setup.loops > 1 ? &shared.tls_open : nullptr;
    auto st = StreamServer::listen(s->setup.tls_listen, relay::Transport::kTls, s->setup.tls,
                                   s->poller, kTokenTls, limits, "--tls-port");
    if (!st) return fail(st.error().message);
    s->tls_streams = std::move(*st);
  }

  if (s->setup.index == 0 && config.metrics) {
    auto m = MetricsServer::listen(*config.metrics, s->poller, kTokenMetrics);
    if (!m) return fail(m.error().message);
    s->metrics.emplace(std::move(*m));
  }
  if (s->setup.signals) {
    if (auto st = s->poller.add(s->setup.signals->fd(), kTokenSignal, true, false); !st) {
      return fail(st.error().message);
    }
  }
  if (auto st = s->poller.add(shared.stop.fd(), kTokenStop, true, false); !st) {
    return fail(st.error().message);
  }
  for (size_t i = 0; i < s->listeners().size(); ++i) {
    if (auto st = s->poller.add(s->listeners()[i].fd(), kTokenListener + i, true, false); !st) {
      return fail(st.error().message);
    }
  }
  return std::unique_ptr<RelayLoop>(new RelayLoop(std::move(s)));
}

RelayLoop::RelayLoop(std::unique_ptr<State> state) : state_(std::move(state)) {}
RelayLoop::~RelayLoop() = default;

const std::vector<Endpoint>& RelayLoop::tcp_bound() const {
  static const std::vector<Endpoint> kNone;
  return state_->tcp ? state_->tcp->bound() : kNone;
}

const std::vector<Endpoint>& RelayLoop::tls_bound() const {
  static const std::vector<Endpoint> kNone;
  return state_->tls_streams ? state_->tls_streams->bound() : kNone;
}

std::optional<uint16_t> RelayLoop::metrics_port() const {
  if (!state_->metrics) return std::nullopt;
  return state_->metrics->port();
}

size_t RelayLoop::allocation_count() const {
  return state_->server->allocation_count();
}

Status RelayLoop::run() {
  State& s = *state_;
  std::array<io::Ready, 64> ready;
  const auto body = [&s] { return s.metrics_text(); };
  for (;;) {
    Instant now = io::monotonic_now();
    s.server->set_wall_clock(io::wall_now(), now);
    std::optional<Duration> timeout;
    if (auto deadline = s.next_deadline()) {
      timeout = *deadline > now ? *deadline - now : Duration::zero();
    }
    auto n = s.poller.wait(timeout, ready);
    if (!n) {
      s.shared.stop.trigger();  // the other loops stop with this one
      return fail(n.error().message);
    }
    now = io::monotonic_now();
    for (size_t i = 0; i < *n; ++i) {
      const uint64_t token = ready[i].token;
      if (token == kTokenSignal) {
        if (auto sig = s.setup.signals->read(); sig && *sig != SIGHUP) {
          log::info("signal {}: closing the allocations and stopping", *sig);
          s.shared.stop.trigger();
          s.close_streams();
          return {};
        }
      } else if (token == kTokenStop) {
        s.close_streams();
        return {};
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
      } else if (token >= kTokenListener && token - kTokenListener < s.listeners().size()) {
        s.pump_listener(token - kTokenListener, now);
      }
    }
    s.flush();  // peer data for the clients, gathered over every relay socket read above
    if (auto t = s.server->poll_timeout(); t && *t <= now) s.server->handle_timeout(now);
    if (s.metrics) s.metrics->expire(now);
    if (s.tcp) s.tcp->expire(now, s);
    if (s.tls_streams) s.tls_streams->expire(now, s);
    if (s.setup.loops > 1) s.shared.stats.publish(s.setup.index, s.stats());
  }
}

}  // namespace tern::relayd

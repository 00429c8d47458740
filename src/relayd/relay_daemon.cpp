#include "relayd/relay_daemon.hpp"

#include <sched.h>

#include <algorithm>
#include <thread>
#include <vector>

#include "base/log.hpp"
#include "crypto/random.hpp"
#include "io/clock.hpp"
#include "io/signals.hpp"
#include "relayd/listen_group.hpp"
#include "relayd/relay_loop.hpp"
#include "relayd/tls_context.hpp"

namespace tern::relayd {
namespace {

// The CPUs this process may run on (a container or taskset may allow fewer than the host has).
uint32_t usable_cpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (::sched_getaffinity(0, sizeof set, &set) == 0) {
    if (int n = CPU_COUNT(&set); n > 0) return static_cast<uint32_t>(n);
  }
  return std::max(1u, std::thread::hardware_concurrency());
}

std::string joined(const std::vector<Endpoint>& eps) {
  std::string out;
  for (const auto& e : eps)
    out += (out.empty() ? "" : ", ") + e.to_string();
  return out;
}

}  // namespace

struct RelayDaemon::State {
  RelaydConfig config;
  io::SignalFd signals;
  std::unique_ptr<TlsContext> tls;
  std::unique_ptr<LoopShared> shared;             // outlives the loops: their cores release
  std::vector<std::unique_ptr<RelayLoop>> loops;  // their quota into it as they close
};

Result<std::unique_ptr<RelayDaemon>> RelayDaemon::start(const RelaydConfig& config) {
  auto signals = io::SignalFd::create();  // before any thread: they inherit the mask
  if (!signals) return fail(signals.error().message);
  auto stop = StopSignal::create();
  if (!stop) return fail(stop.error().message);
  auto s = std::unique_ptr<State>(new State{config, std::move(*signals), nullptr, nullptr, {}});
  const uint32_t loops = config.threads ? config.threads : usable_cpus();

  const Instant now = io::monotonic_now();
  s->shared = std::make_unique<LoopShared>(
      loops, config.relay, config.port_min, config.port_max,
      static_cast<uint64_t>(to_ns(now)) ^ static_cast<uint64_t>(io::wall_now().unix_ns),
      std::move(*stop));
  crypto::random_bytes(s->shared->nonce_key);

  // Every listen address as a group of `loops` sockets; loop i takes the i-th of each.
  std::vector<std::vector<io::UdpSocket>> groups;
  for (const auto& at : s->config.listen) {
    auto g = bind_listener_group(at, loops);
    if (!g) return tl::unexpected(g.error());
    groups.push_back(std::move(*g));
  }
  if (!groups.empty()) {
    // Bursts wait in these buffers while a loop has no CPU; the kernel caps them at
    // net.core.rmem_max unless the relay may pass the cap (SO_RCVBUFFORCE, as root).
    const int granted = listener_receive_buffer(groups[0][0]);
    if (granted >= kListenerBuffer) {
      log::info("UDP listener receive buffers: {} MiB each", granted >> 20);
    } else {
      log::warn(
          "UDP listener receive buffers: {} KiB each, capped by net.core.rmem_max: bursts "
          "beyond are dropped; run tern relay as root (SO_RCVBUFFORCE) or raise "
          "net.core.rmem_max to {}",
          granted >> 10, kListenerBuffer);
    }
  }
  if (!config.tls_listen.empty()) {
    auto ctx = TlsContext::load(config.tls_cert, config.tls_key);
    if (!ctx) return fail(ctx.error().message);
    s->tls = std::move(*ctx);
  }
  for (uint32_t i = 0; i < loops; ++i) {
    LoopSetup setup;
    setup.index = i;
    setup.loops = loops;
    for (auto& g : groups)
      setup.listeners.push_back(std::move(g[i]));
    // Later loops join loop 0's TCP/TLS listeners, on the ports it got for a port 0.
    setup.tcp_listen = i == 0 ? s->config.tcp_listen : s->loops[0]->tcp_bound();
    setup.tls_listen = i == 0 ? s->config.tls_listen : s->loops[0]->tls_bound();
    setup.tls = s->tls.get();
    setup.signals = i == 0 ? &s->signals : nullptr;
    auto loop = RelayLoop::create(s->config, std::move(setup), *s->shared);
    if (!loop) return tl::unexpected(loop.error());
    s->loops.push_back(std::move(*loop));
  }

  std::string listen_text = joined(config.listen);
  if (!s->loops[0]->tcp_bound().empty()) listen_text += "; tcp " + joined(s->loops[0]->tcp_bound());
  if (!s->loops[0]->tls_bound().empty()) listen_text += "; tls " + joined(s->loops[0]->tls_bound());
  std::string relay_text;
  for (const auto& a : config.relay_addresses)
    relay_text += (relay_text.empty() ? "" : ", ") + a.to_string();
  log::info(
      "tern relay: STUN/TURN on udp {}; relayed addresses {} ports {}-{}; realm {}, {} "
      "user(s), {} REST secret(s){}; {} event loop(s)",
      listen_text, relay_text, config.port_min, config.port_max, config.relay.realm,
      config.relay.users.size(), config.relay.shared_secrets.size(),
      config.relay.discovery ? "; RFC 5780 behaviour discovery on" : "", loops);
  if (auto port = s->loops[0]->metrics_port()) {
    log::info("metrics on http://{}/metrics", Endpoint{config.metrics->address, *port}.to_string());
  }
  return std::unique_ptr<RelayDaemon>(new RelayDaemon(std::move(s)));
}

RelayDaemon::RelayDaemon(std::unique_ptr<State> state) : state_(std::move(state)) {}
RelayDaemon::~RelayDaemon() = default;

Status RelayDaemon::run() {
  State& s = *state_;
  std::vector<std::thread> threads;
  std::vector<Status> results(s.loops.size());
  for (size_t i = 1; i < s.loops.size(); ++i) {
    threads.emplace_back([&s, &results, i] { results[i] = s.loops[i]->run(); });
  }
  results[0] = s.loops[0]->run();
  for (auto& t : threads)
    t.join();
  size_t allocations = 0;
  for (const auto& l : s.loops)
    allocations += l->allocation_count();
  log::info("closing {} allocation(s)", allocations);
  for (const auto& r : results) {
    if (!r) return r;
  }
  return {};
}

}  // namespace tern::relayd

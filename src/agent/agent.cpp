// Setup, the event loop and teardown of `tern up`.
#include "agent/agent.hpp"

#include <unistd.h>

#include <array>

#include "agent/agent_state.hpp"
#include "agent/datapath.hpp"
#include "agent/events.hpp"
#include "agent/resolve.hpp"
#include "agent/routing.hpp"
#include "agent/underlay_mtu.hpp"
#include "base/log.hpp"
#include "io/clock.hpp"

namespace tern::agent {
namespace {

constexpr uint32_t kDefaultMtu = 1420;  // 1500 - 80: room for WireGuard over IPv6

// Applies the [Peer] sections to the device; peers with Relay = on go through the relay.
Status configure_peers(Agent::State& s, const config::InterfaceConfig& config, Instant now) {
  core::Device& device = s.device;
  for (const auto& pc : config.peers) {
    auto id = device.add_peer(pc.public_key);
    if (!id) {
      return fail("a [Peer] has this interface's own public key; remove that peer section");
    }
    if (pc.preshared_key) device.set_preshared_key(*id, *pc.preshared_key);
    for (const auto& prefix : pc.allowed_ips)
      device.add_allowed_ip(*id, prefix);
    if (pc.endpoint) {
      auto endpoint = resolve_endpoint(*pc.endpoint);
      if (!endpoint) return fail(endpoint.error().message);
      device.set_endpoint(*id, *endpoint);
      if (pc.relay && s.relay) s.relay->add_peer(device, *id, *endpoint, now);
    }
    device.set_persistent_keepalive(*id, pc.persistent_keepalive, now);
  }
  return {};
}

// Addresses, MTU, link up, then routes (and a full tunnel's rules), as wg-quick does.
Status configure_interface(Agent::State& s, const config::InterfaceConfig& config) {
  auto index = s.netlink.link_index(s.name);
  if (!index) return fail(index.error().message);
  s.ifindex = *index;
  if (auto st = s.netlink.set_mtu(s.ifindex, s.mtu); !st) return st;
  for (const auto& a : config.addresses) {
    if (auto st = s.netlink.add_address(s.ifindex, a); !st) return st;
  }
  if (auto st = s.netlink.set_up(s.ifindex); !st) return st;
  return install_routes(s, config);
}

}  // namespace

Agent::Agent(std::unique_ptr<State> state) : state_(std::move(state)) {}

Agent::~Agent() = default;

Result<std::unique_ptr<Agent>> Agent::start(const config::InterfaceConfig& config,
                                            const AgentOptions& options,
                                            std::unique_ptr<ControlLink> control) {
  auto tun = io::Tun::open(options.interface_name);
  if (!tun) return fail(tun.error().message);
  auto udp = io::UdpSocket::bind(config.listen_port.value_or(0));
  if (!udp) return fail(udp.error().message);
  auto netlink = io::Netlink::open();
  if (!netlink) return fail(netlink.error().message);
  auto poller = io::Poller::create();
  if (!poller) return fail(poller.error().message);
  auto signals = io::SignalFd::create();
  if (!signals) return fail(signals.error().message);

  auto state = std::make_unique<State>(config.private_key, std::move(*tun), std::move(*udp),
                                       std::move(*netlink), std::move(*poller), std::move(*signals),
                                       config.mtu.value_or(kDefaultMtu));
  State& s = *state;
  s.name = s.tun.name();
  s.device.set_mtu(s.mtu);
  const Instant now = io::monotonic_now();
  s.device.set_wall_clock(io::wall_now(), now);
  if (config.path_mtu_discovery) {
    // Probes test the path itself: DF set, never fragmented here, and the kernel's cached
    // PMTU (learned from ICMP that may never come) not applied. A datagram larger than the
    // interface MTU fails with EMSGSIZE: too_big_for_path, a hint for the search (datapath).
    if (auto st = s.udp.set_dont_fragment(true); !st) return fail(st.error().message);
  }
  // Search up to the largest underlay interface (9000 on a jumbo link), before any session
  // starts a search; a route through a smaller interface refuses the larger probes at once.
  if (config.path_mtu_discovery) refresh_max_path_mtu(s);
  s.device.set_path_mtu_discovery(config.path_mtu_discovery, now);
  s.device.set_mss_clamp(config.mss_clamp);
  init_datapath(s);

  // From here on, a failure closes the TUN, which removes the interface with its
  // addresses and routes, and deletes the policy rules added so far.
  if (auto st = configure_interface(s, config); !st) return fail(st.error().message);
  if (config.relay) {
    // A socket of its own: the relay server is one more destination with its own framing,
    // and its answers are told apart from peers' datagrams by the socket they arrive on.
    auto relay = RelayLink::start(*config.relay, config.path_mtu_discovery, now, io::wall_now());
    if (!relay) return fail(relay.error().message);
    s.relay = std::move(*relay);
    if (s.fwmark != 0) {
      if (auto st = s.relay->set_mark(s.fwmark); !st) return fail(st.error().message);
    }
    if (auto st = s.poller.add(s.relay->fd(), kTokenRelay, true, false); !st) {
      return fail(st.error().message);
    }
    log::info("relay {}: allocating on {}", config.relay->url, s.relay->server().to_string());
  }
  if (auto st = configure_peers(s, config, now); !st) return fail(st.error().message);

  auto uapi = UapiServer::listen(options.socket_dir + "/" + s.name + ".sock");
  if (!uapi) return fail(uapi.error().message);
  s.uapi = std::move(*uapi);

  for (auto [fd, token] : {std::pair{s.tun.fd(), kTokenTun}, std::pair{s.udp.fd(), kTokenUdp},
                           std::pair{s.signals.fd(), kTokenSignal},
                           std::pair{s.uapi->listener_fd(), kTokenUapiListener}}) {
    if (auto st = s.poller.add(fd, token, true, false); !st) return fail(st.error().message);
  }
  log::info("interface {} is up: listening on UDP port {}, MTU {}, {} peer(s)", s.name,
            s.udp.local_port(), s.mtu, config.peers.size());
  if (control) {
    s.control = std::move(control);
    s.control->start(s, now, io::wall_now());
  }
  return std::unique_ptr<Agent>(new Agent(std::move(state)));
}

Status Agent::run() {
  State& s = *state_;
  std::array<io::Ready, 64> ready;
  for (;;) {
    Instant now = io::monotonic_now();
    s.device.set_wall_clock(io::wall_now(), now);
    std::optional<Duration> timeout;
    auto deadline = s.device.poll_timeout();
    if (s.control) {
      if (auto c = s.control->poll_timeout(); c && (!deadline || *c < *deadline)) deadline = c;
    }
    if (s.relay) {
      if (auto c = s.relay->poll_timeout(); c && (!deadline || *c < *deadline)) deadline = c;
    }
    if (deadline) timeout = *deadline > now ? *deadline - now : Duration::zero();
    auto n = s.poller.wait(timeout, ready);
    if (!n) return fail(n.error().message);
    now = io::monotonic_now();
    for (size_t i = 0; i < *n; ++i) {
      const io::Ready& r = ready[i];
      switch (r.token) {
        case kTokenTun:
          pump_tun(s, now);
          break;
        case kTokenUdp:
          pump_udp(s, now);
          break;
        case kTokenRelay:
          pump_relay(s, now);
          break;
        case kTokenSignal:
          if (auto sig = s.signals.read(); sig && *sig != SIGHUP) {
            log::info("signal {}: removing interface {}", *sig, s.name);
            return {};
          }
          break;
        case kTokenUapiListener:
          s.uapi->accept(s);
          break;
        case kTokenControl:
          if (s.control) s.control->on_ready(s, now, io::wall_now());
          break;
        default:
          s.uapi->handle(s, r.token, now);
          break;
      }
    }
    if (s.control) s.control->on_timer(s, now, io::wall_now());
    if (s.relay) s.relay->on_timer(s.device, now, io::wall_now());
    s.device.handle_timeout(now);
    log_device_events(s);
    flush_transmits(s, now);
  }
}

}  // namespace tern::agent

#include "doctor/nat_run.hpp"

#include <arpa/inet.h>
#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>

#include <fmt/format.h>

#include "doctor/nat_discovery.hpp"
#include "doctor/nat_lifetime.hpp"
#include "doctor/turn_url.hpp"
#include "io/clock.hpp"
#include "io/fd.hpp"
#include "io/poller.hpp"
#include "io/udp_socket.hpp"

namespace tern::doctor {
namespace {

// Room for any UDP datagram: an oversized answer is read whole and judged, never truncated.
constexpr size_t kRecvBuffer = 65536;

// The source address the kernel would pick towards `server` (a connected UDP socket sends
// nothing), so the report can tell "no NAT" from "NAT".
std::optional<IpAddress> local_address_towards(const Endpoint& server) {
  if (!server.address.is_v4()) return std::nullopt;
  io::UniqueFd fd(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (fd.get() < 0) return std::nullopt;
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(server.port);
  to.sin_addr.s_addr = htonl(server.address.v4_host_order());
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&to), sizeof to) != 0) return std::nullopt;
  sockaddr_in me{};
  socklen_t len = sizeof me;
  if (::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&me), &len) != 0) return std::nullopt;
  return IpAddress::v4(ntohl(me.sin_addr.s_addr));
}

struct Sockets {
  std::vector<io::UdpSocket> list;
  io::Poller poller;
};

Result<Sockets> open_sockets(size_t count, const Endpoint& server) {
  auto poller = io::Poller::create();
  if (!poller) return tl::unexpected(poller.error());
  Sockets s{{}, std::move(*poller)};
  const IpAddress any = server.address.is_v4() ? IpAddress::v4(0u) : IpAddress::v6({});
  for (size_t i = 0; i < count; ++i) {
    auto sock = io::UdpSocket::bind(Endpoint{any, 0});
    if (!sock) return tl::unexpected(sock.error());
    if (auto st = s.poller.add(sock->fd(), i, true, false); !st) return tl::unexpected(st.error());
    s.list.push_back(std::move(*sock));
  }
  return s;
}

template <class Machine>
void flush(Machine& m, std::vector<io::UdpSocket>& sockets, size_t base, io::SendBatch& batch) {
  while (auto t = m.poll_transmit()) {
    batch.clear();
    if (!batch.add(t->to, t->data)) continue;
    // A datagram the kernel refuses is lost like one the network drops: the machine's
    // timers treat both alike.
    (void)sockets[base + t->socket].send(batch);
  }
}

}  // namespace

Result<Endpoint> resolve_server(const std::string& host, uint16_t port) {
  if (auto a = IpAddress::parse(host)) return Endpoint{*a, port};
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_DGRAM;
  addrinfo* list = nullptr;
  const int rc = getaddrinfo(host.c_str(), nullptr, &hints, &list);
  if (rc != 0) return fail(fmt::format("cannot resolve {}: {}", host, gai_strerror(rc)));
  std::optional<Endpoint> found;
  // IPv4 first: the NAT in front of most machines is an IPv4 one.
  for (int pass = 0; pass < 2 && !found; ++pass) {
    for (auto* ai = list; ai && !found; ai = ai->ai_next) {
      if (ai->ai_family == AF_INET && pass == 0) {
        const auto* sin = reinterpret_cast<const sockaddr_in*>(ai->ai_addr);
        found = Endpoint{IpAddress::v4(ntohl(sin->sin_addr.s_addr)), port};
      } else if (ai->ai_family == AF_INET6 && pass == 1) {
        const auto* sin6 = reinterpret_cast<const sockaddr_in6*>(ai->ai_addr);
        std::array<uint8_t, 16> b{};
        std::copy_n(sin6->sin6_addr.s6_addr, 16, b.begin());
        found = Endpoint{IpAddress::v6(b), port};
      }
    }
  }
  freeaddrinfo(list);
  if (!found) return fail(fmt::format("{} has no IPv4 or IPv6 address", host));
  return *found;
}

Result<NatReport> check_nat(const NatCheckOptions& options, const Progress& progress) {
  auto say = [&](const std::string& line) {
    if (progress) progress(line);
  };
  if (options.servers.empty()) return fail("name a STUN server: --stun stun:HOST[:PORT]");
  std::vector<Endpoint> servers;
  for (const auto& text : options.servers) {
    auto url = parse_turn_url(text);
    if (!url) return tl::unexpected(url.error());
    if (url->transport != UrlTransport::kUdp) {
      return fail(fmt::format("{}: the NAT checks run over UDP only", text));
    }
    auto e = resolve_server(url->host, url->port);
    if (!e) return tl::unexpected(e.error());
    servers.push_back(*e);
  }
  const Endpoint primary = servers.front();
  const Instant start = io::monotonic_now();

  const size_t lifetime_count = options.quick ? 0 : options.lifetime_sockets;
  const auto intervals = lifetime_intervals(options.lifetime_max, lifetime_count);
  auto sockets =
      open_sockets(NatDiscovery::kSockets + (options.quick ? 0 : intervals.size() + 1), primary);
  if (!sockets) return tl::unexpected(sockets.error());

  NatDiscovery::Config dc;
  dc.servers = servers;
  const auto local_ip = local_address_towards(primary);
  for (size_t i = 0; i < NatDiscovery::kSockets; ++i) {
    if (local_ip) dc.local[i] = Endpoint{*local_ip, sockets->list[i].local_port()};
  }
  NatDiscovery discovery(dc, start);
  std::optional<LifetimeSearch> lifetime;
  if (!options.quick) {
    LifetimeSearch::Config lc;
    lc.server = primary;
    lc.intervals = intervals;
    lifetime.emplace(lc, start);
  }
  const size_t lbase = NatDiscovery::kSockets;
  // Every step is bounded by its own timers; this is the backstop.
  const Instant give_up = start + options.lifetime_max + std::chrono::seconds(60);

  io::RecvBatch recv(16, kRecvBuffer);
  io::SendBatch send(1);
  std::array<io::Ready, 32> ready{};
  std::string last_line;
  for (;;) {
    flush(discovery, sockets->list, 0, send);
    if (lifetime) flush(*lifetime, sockets->list, lbase, send);
    const bool finished = discovery.done() && (!lifetime || lifetime->done());
    Instant now = io::monotonic_now();
    if (finished || now >= give_up) break;
    {
      std::string line = fmt::format(
          "{}", discovery.done() ? "behaviour: done" : std::string(discovery.step_name()));
      if (lifetime) {
        line += fmt::format(
            "; lifetime: {} of {} intervals decided, {} s of at most {} s", lifetime->decided(),
            intervals.size(), std::chrono::duration_cast<std::chrono::seconds>(now - start).count(),
            std::chrono::duration_cast<std::chrono::seconds>(intervals.empty() ? Duration{}
                                                                               : intervals.back())
                .count());
      }
      if (line != last_line) say(line);
      last_line = std::move(line);
    }
    Instant deadline = std::min(give_up, now + std::chrono::seconds(1));
    if (auto t = discovery.poll_timeout()) deadline = std::min(deadline, *t);
    if (lifetime) {
      if (auto t = lifetime->poll_timeout()) deadline = std::min(deadline, *t);
    }
    const Duration wait = deadline > now ? deadline - now : Duration::zero();
    auto n = sockets->poller.wait(wait, ready);
    if (!n) return tl::unexpected(n.error());
    for (size_t r = 0; r < *n; ++r) {
      const size_t idx = ready[r].token;
      for (;;) {
        auto got = sockets->list[idx].recv(recv);
        if (!got || *got == 0) break;
        now = io::monotonic_now();
        for (size_t i = 0; i < *got; ++i) {
          if (recv.truncated(i)) continue;
          if (idx < lbase) {
            discovery.handle_input(idx, recv.from(i), recv.data(i), now);
          } else if (lifetime) {
            lifetime->handle_input(idx - lbase, recv.from(i), recv.data(i), now);
          }
        }
      }
    }
    now = io::monotonic_now();
    discovery.handle_timeout(now);
    if (lifetime) lifetime->handle_timeout(now);
  }
  NatReport report;
  report.discovery = discovery.result();
  report.keepalive_in_use = options.keepalive_in_use;
  if (lifetime) {
    report.lifetime = lifetime->result();
    if (!lifetime->done() && report.lifetime->error.empty()) {
      report.lifetime->error = "the search did not finish in time";
    }
  }
  return report;
}

}  // namespace tern::doctor

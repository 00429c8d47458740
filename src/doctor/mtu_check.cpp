#include "doctor/mtu_check.hpp"

#include <netdb.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstring>
#include <fstream>

#include "io/sockaddr.hpp"

namespace tern::doctor {
namespace {

DfPingOptions ping_options(const IpAddress& target, const MtuCheckOptions& o) {
  DfPingOptions p;
  p.target = target;
  p.max_size = o.max_size;
  p.tries = o.tries;
  p.probe_timeout = o.probe_timeout;
  p.budget = o.budget;
  return p;
}

}  // namespace

bool is_tunnel(const std::string& device) {
  if (device.empty() || device.find('/') != std::string::npos ||
      device.find("..") != std::string::npos) {
    return false;
  }
  // WireGuard and TUN interfaces carry IP without a link layer: ARPHRD_NONE (65534).
  std::ifstream type("/sys/class/net/" + device + "/type");
  unsigned value = 0;
  return static_cast<bool>(type >> value) && value == 65534;
}

Result<IpAddress> resolve_host(const std::string& name) {
  if (auto ip = IpAddress::parse(name)) return *ip;
  if (name.empty() || name.size() > 253) return fail("'" + name + "' is not a host name");
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_DGRAM;
  addrinfo* list = nullptr;
  const int rc = ::getaddrinfo(name.c_str(), nullptr, &hints, &list);
  if (rc != 0) return fail("cannot resolve " + name + ": " + ::gai_strerror(rc));
  std::optional<IpAddress> found;
  for (addrinfo* a = list; a && !found; a = a->ai_next) {
    if (a->ai_family != AF_INET && a->ai_family != AF_INET6) continue;
    sockaddr_storage ss{};
    std::memcpy(&ss, a->ai_addr, std::min<size_t>(a->ai_addrlen, sizeof ss));
    found = io::from_sockaddr(ss).address;
  }
  ::freeaddrinfo(list);
  if (!found) return fail(name + " has no IPv4 or IPv6 address");
  return *found;
}

MtuReport check_mtu_host(const std::string& target, const IpAddress& address,
                         const MtuCheckOptions& options, const DfProgress& progress) {
  MtuReport report;
  report.target = target;
  DfPingOptions p = ping_options(address, options);
  p.device = options.device;
  auto r = run_df_ping(p, progress);
  if (!r) {
    report.underlay_error = r.error().message;
  } else if (is_tunnel(options.device)) {
    // Forced through a tunnel: what counts is what crosses it, as for a peer's overlay.
    report.overlay = std::move(*r);
  } else {
    report.underlay = std::move(*r);
  }
  analyze(report);
  return report;
}

MtuReport check_mtu_peer(const std::string& target, const MtuPeer& peer,
                         const MtuCheckOptions& options, const DfProgress& progress) {
  MtuReport report;
  report.target = target;
  report.peer = peer;
  if (peer.endpoint) {
    // The endpoint is reached over the underlay: let routing choose, whatever --max says.
    DfPingOptions p = ping_options(peer.endpoint->address, options);
    p.max_size.reset();
    auto r = run_df_ping(p, progress);
    if (r) {
      report.underlay = std::move(*r);
    } else {
      report.underlay_error = r.error().message;
    }
  } else {
    report.underlay_error = "the peer has no endpoint yet (no handshake from it)";
  }
  if (peer.overlay_address) {
    DfPingOptions p = ping_options(*peer.overlay_address, options);
    p.device = peer.interface_name;
    if (!p.max_size && peer.interface_mtu) p.max_size = peer.interface_mtu;
    auto r = run_df_ping(p, progress);
    if (r) {
      report.overlay = std::move(*r);
    } else {
      report.overlay_error = r.error().message;
    }
  } else {
    report.overlay_error =
        "the peer's allowed IPs hold no single address to ping: name it as the target";
  }
  analyze(report);
  return report;
}

}  // namespace tern::doctor

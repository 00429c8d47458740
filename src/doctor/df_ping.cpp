#include "doctor/df_ping.hpp"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <linux/errqueue.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include <fmt/format.h>

#include "crypto/random.hpp"
#include "io/clock.hpp"
#include "io/fd.hpp"
#include "io/sockaddr.hpp"
#include "io/sys_error.hpp"

namespace tern::doctor {
namespace {

constexpr size_t kMaxProbe = 65535;

bool v6_of(const IpAddress& a) {
  return a.is_v6();
}

Status bind_device(int fd, const std::string& device) {
  if (device.empty()) return {};
  if (::setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, device.c_str(),
                   static_cast<socklen_t>(device.size())) != 0) {
    return fail(fmt::format("binding to interface {} failed: {}", device, io::errno_text(errno)));
  }
  return {};
}

// A UDP socket connected to the target, for asking the kernel what it knows of the route.
io::UniqueFd route_socket(const IpAddress& target, const std::string& device) {
  const bool v6 = v6_of(target);
  io::UniqueFd fd(::socket(v6 ? AF_INET6 : AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!fd) return fd;
  if (!bind_device(fd.get(), device)) return io::UniqueFd();
  sockaddr_storage sa{};
  const socklen_t len = io::to_sockaddr(Endpoint{target, 9}, v6, sa);
  if (len == 0 || ::connect(fd.get(), reinterpret_cast<sockaddr*>(&sa), len) != 0) {
    return io::UniqueFd();
  }
  return fd;
}

std::optional<uint32_t> interface_mtu(const std::string& name) {
  if (name.empty() || name.size() >= IFNAMSIZ) return std::nullopt;
  io::UniqueFd fd(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!fd) return std::nullopt;
  ifreq req{};
  std::memcpy(req.ifr_name, name.c_str(), name.size());
  if (::ioctl(fd.get(), SIOCGIFMTU, &req) != 0 || req.ifr_mtu <= 0) return std::nullopt;
  return static_cast<uint32_t>(req.ifr_mtu);
}

// The interface holding the source address the kernel picks for `target`.
std::string egress_interface(const IpAddress& target) {
  io::UniqueFd fd = route_socket(target, "");
  if (!fd) return "";
  sockaddr_storage local{};
  socklen_t len = sizeof local;
  if (::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&local), &len) != 0) return "";
  const IpAddress source = io::from_sockaddr(local).address;
  ifaddrs* list = nullptr;
  if (::getifaddrs(&list) != 0) return "";
  std::string name;
  for (ifaddrs* i = list; i && name.empty(); i = i->ifa_next) {
    if (!i->ifa_addr || (i->ifa_addr->sa_family != AF_INET && i->ifa_addr->sa_family != AF_INET6))
      continue;
    sockaddr_storage ss{};
    std::memcpy(&ss, i->ifa_addr,
                i->ifa_addr->sa_family == AF_INET ? sizeof(sockaddr_in) : sizeof(sockaddr_in6));
    if (io::from_sockaddr(ss).address == source) name = i->ifa_name;
  }
  ::freeifaddrs(list);
  return name;
}

struct ProbeSocket {
  io::UniqueFd fd;
  PingSocketKind kind = PingSocketKind::kRaw;
};

Result<ProbeSocket> open_probe_socket(const DfPingOptions& o) {
  const bool v6 = v6_of(o.target);
  const int family = v6 ? AF_INET6 : AF_INET;
  const int proto = v6 ? int{IPPROTO_ICMPV6} : int{IPPROTO_ICMP};
  ProbeSocket s;
  s.fd.reset(::socket(family, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, proto));
  if (!s.fd) {
    const int raw_err = errno;
    s.fd.reset(::socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, proto));
    if (!s.fd) {
      return fail(fmt::format(
          "cannot open an ICMP socket (raw: {}; ping: {}): run as root, or allow ping sockets "
          "with sysctl net.ipv4.ping_group_range",
          io::errno_text(raw_err), io::errno_text(errno)));
    }
    s.kind = PingSocketKind::kPing;
  }
  const int fd = s.fd.get();
  auto dev = bind_device(fd, o.device);
  if (!dev) return fail(dev.error().message);
  const int probe = v6 ? IPV6_PMTUDISC_PROBE : IP_PMTUDISC_PROBE;
  if (::setsockopt(fd, v6 ? IPPROTO_IPV6 : IPPROTO_IP, v6 ? IPV6_MTU_DISCOVER : IP_MTU_DISCOVER,
                   &probe, sizeof probe) != 0) {
    return fail("setting Don't Fragment (PMTUDISC_PROBE) failed: " + io::errno_text(errno));
  }
  if (s.kind == PingSocketKind::kPing) {
    // A ping socket hears ICMP errors only through its error queue.
    const int on = 1;
    if (::setsockopt(fd, v6 ? IPPROTO_IPV6 : IPPROTO_IP, v6 ? IPV6_RECVERR : IP_RECVERR, &on,
                     sizeof on) != 0) {
      return fail("setting IP_RECVERR failed: " + io::errno_text(errno));
    }
  }
  return s;
}

class Runner {
 public:
  Runner(const DfPingOptions& o, ProbeSocket socket, DfPingResult& result)
      : o_(o), socket_(std::move(socket)), result_(result), buf_(kMaxProbe) {
    crypto::random_bytes(token_);
    id_ = static_cast<uint16_t>(crypto::random_u32());
    v6_ = v6_of(o.target);
    dest_len_ = io::to_sockaddr(Endpoint{o.target, 0}, v6_, dest_);
  }

  void run(DfSearch& search, const DfProgress& progress) {
    size_t last_low = SIZE_MAX, last_high = SIZE_MAX;
    while (!search.done()) {
      const Instant now = io::monotonic_now();
      while (auto p = search.poll_transmit(now))
        send(search, *p, now);
      if (search.done()) break;
      if (progress && (search.low() != last_low || search.high() != last_high)) {
        last_low = search.low();
        last_high = search.high();
        progress(fmt::format("DF ping {}: answered up to {}, lost from {} ...",
                             o_.target.to_string(), last_low ? std::to_string(last_low) : "-",
                             last_high <= result_.max_size ? std::to_string(last_high) : "-"));
      }
      const auto deadline = search.poll_timeout();
      if (!deadline) break;
      const Duration wait = *deadline - io::monotonic_now();
      const int ms = wait > Duration{} ? static_cast<int>((wait.count() + 999'999) / 1'000'000) : 0;
      pollfd pfd{socket_.fd.get(), POLLIN, 0};
      const int n = ::poll(&pfd, 1, ms);
      if (n > 0) receive(search);
      search.handle_timeout(io::monotonic_now());
    }
  }

 private:
  void send(DfSearch& search, const DfProbe& p, Instant now) {
    const size_t len = build_echo_request(o_.target.family(), id_, p.seq, token_, p.size, buf_);
    if (len == 0 || dest_len_ == 0) {
      search.on_send_failed(p.seq, false, now);
      return;
    }
    const ssize_t n = ::sendto(socket_.fd.get(), buf_.data(), len, 0,
                               reinterpret_cast<const sockaddr*>(&dest_), dest_len_);
    if (n >= 0) return;
    const int err = errno;
    if (err != EMSGSIZE && result_.send_error.empty()) result_.send_error = io::errno_text(err);
    search.on_send_failed(p.seq, err == EMSGSIZE, now);
  }

  void drop(IcmpDrop d) { result_.drops[static_cast<size_t>(d)]++; }

  bool token_matches(Bytes data) const {
    return data.size() >= kProbeTokenSize &&
           std::memcmp(data.data(), token_.data(), kProbeTokenSize) == 0;
  }

  void receive(DfSearch& search) {
    // Bounded: a flood of ICMP cannot keep the loop here past the search's deadlines.
    for (int i = 0; i < 256; ++i) {
      sockaddr_storage from{};
      socklen_t from_len = sizeof from;
      const ssize_t n = ::recvfrom(socket_.fd.get(), buf_.data(), buf_.size(), 0,
                                   reinterpret_cast<sockaddr*>(&from), &from_len);
      if (n < 0) break;
      handle(search, Bytes(buf_.data(), static_cast<size_t>(n)), io::from_sockaddr(from).address);
    }
    if (socket_.kind == PingSocketKind::kPing) {
      for (int i = 0; i < 64 && read_error_queue(search); ++i) {
      }
    }
  }

  void handle(DfSearch& search, Bytes datagram, const IpAddress& from) {
    const bool raw = socket_.kind == PingSocketKind::kRaw;
    const IcmpFraming framing = raw && !v6_ ? IcmpFraming::kWithIpv4Header : IcmpFraming::kIcmpOnly;
    const IcmpMessage m = parse_icmp(datagram, framing, o_.target.family());
    const Instant now = io::monotonic_now();
    if (const auto* d = std::get_if<IcmpDrop>(&m)) return drop(*d);
    if (const auto* r = std::get_if<EchoReply>(&m)) {
      // A ping socket's identifier is the kernel's; it only hands us our own replies.
      if ((raw && r->id != id_) || !token_matches(r->data)) return drop(IcmpDrop::kNotOurs);
      if (from != o_.target) return drop(IcmpDrop::kWrongSource);
      if (!search.on_reply(r->seq, now)) drop(IcmpDrop::kUnknownProbe);
      return;
    }
    const auto& e = std::get<IcmpError>(m);
    if ((raw && e.id != id_) || e.quoted_destination != o_.target) {
      return drop(IcmpDrop::kNotOurs);
    }
    if (!search.on_error(e.seq, e.too_big, e.mtu, now)) drop(IcmpDrop::kUnknownProbe);
  }

  // One entry of a ping socket's error queue; false when it is empty.
  bool read_error_queue(DfSearch& search) {
    uint8_t control[512];
    sockaddr_storage from{};
    iovec iov{buf_.data(), buf_.size()};
    msghdr msg{};
    msg.msg_name = &from;
    msg.msg_namelen = sizeof from;
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    const ssize_t n = ::recvmsg(socket_.fd.get(), &msg, MSG_ERRQUEUE | MSG_DONTWAIT);
    if (n < 0) return false;
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
      const bool is_err = (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_RECVERR) ||
                          (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_RECVERR);
      if (!is_err || c->cmsg_len < CMSG_LEN(sizeof(sock_extended_err))) continue;
      sock_extended_err ee{};
      std::memcpy(&ee, CMSG_DATA(c), sizeof ee);
      if (ee.ee_origin != SO_EE_ORIGIN_ICMP && ee.ee_origin != SO_EE_ORIGIN_ICMP6) continue;
      auto q = parse_quoted_echo(Bytes(buf_.data(), static_cast<size_t>(n)), o_.target.family());
      if (!q) {
        drop(IcmpDrop::kNotOurs);
        continue;
      }
      const bool too_big = v6_ ? ee.ee_type == 2 : (ee.ee_type == 3 && ee.ee_code == 4);
      if (!search.on_error(q->seq, too_big, ee.ee_info, io::monotonic_now())) {
        drop(IcmpDrop::kUnknownProbe);
      }
    }
    return true;
  }

  const DfPingOptions& o_;
  ProbeSocket socket_;
  DfPingResult& result_;
  std::vector<uint8_t> buf_;
  ProbeToken token_{};
  uint16_t id_ = 0;
  bool v6_ = false;
  sockaddr_storage dest_{};
  socklen_t dest_len_ = 0;
};

}  // namespace

std::string_view ping_socket_kind_name(PingSocketKind k) {
  return k == PingSocketKind::kRaw ? "raw" : "ping";
}

std::optional<uint32_t> kernel_path_mtu(const IpAddress& target, const std::string& device) {
  io::UniqueFd fd = route_socket(target, device);
  if (!fd) return std::nullopt;
  int mtu = 0;
  socklen_t len = sizeof mtu;
  const bool v6 = v6_of(target);
  if (::getsockopt(fd.get(), v6 ? IPPROTO_IPV6 : IPPROTO_IP, v6 ? IPV6_MTU : IP_MTU, &mtu, &len) !=
          0 ||
      mtu <= 0) {
    return std::nullopt;
  }
  return static_cast<uint32_t>(mtu);
}

Result<DfPingResult> run_df_ping(const DfPingOptions& options, const DfProgress& progress) {
  DfPingOptions o = options;
  o.target = o.target.unmapped();
  if (o.target.is_unspecified()) return fail("the target address is unspecified");
  const IpAddress::Family family = o.target.family();
  DfPingResult result;
  result.target = o.target;
  result.interface_name = o.device.empty() ? egress_interface(o.target) : o.device;
  result.interface_mtu = interface_mtu(result.interface_name);
  result.kernel_pmtu_before = kernel_path_mtu(o.target, o.device);

  const size_t floor = min_probe_size(family);
  result.min_size = std::max(o.min_size.value_or(o.target.is_v4() ? 68 : 1280), floor);
  size_t max = o.max_size.value_or(result.interface_mtu.value_or(1500));
  result.max_size = std::clamp(max, result.min_size, kMaxProbe);

  auto socket = open_probe_socket(o);
  if (!socket) return fail(socket.error().message);
  result.socket_kind = socket->kind;

  DfSearchConfig config;
  config.min_size = result.min_size;
  config.max_size = result.max_size;
  config.reach_size = ip_header_size(family) + kIcmpHeaderSize + 56;  // ping(8)'s size
  config.tries = o.tries;
  config.probe_timeout = o.probe_timeout;
  config.budget = o.budget;
  DfSearch search(config, io::monotonic_now());
  Runner runner(o, std::move(*socket), result);
  runner.run(search, progress);
  result.search = search.result();
  result.kernel_pmtu_after = kernel_path_mtu(o.target, o.device);
  return result;
}

}  // namespace tern::doctor

#include "io/udp_socket.hpp"

#include <errno.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include <fmt/core.h>

#include "base/log.hpp"
#include "io/sockaddr.hpp"
#include "io/sys_error.hpp"
#include "io/udp_batch_headers.hpp"

namespace tern::io {

namespace {

// Errors a receive may report for an earlier datagram (an ICMP error or a failed send
// stored on the socket): they concern no pending datagram, so the receive is retried.
constexpr int kMaxRecvRetries = 8;

bool is_transient_recv_error(int err) {
  switch (err) {
    case ECONNREFUSED:
    case EHOSTUNREACH:
    case ENETUNREACH:
    case EHOSTDOWN:
    case ENETDOWN:
    case EMSGSIZE:
    case EPERM:
    case ENOBUFS:
    case ENOMEM:
      return true;
    default:
      return false;
  }
}

// Errors that mean the socket itself is unusable, not that one datagram failed.
bool is_fatal_send_error(int err) {
  return err == EBADF || err == ENOTSOCK || err == EFAULT || err == EOPNOTSUPP;
}

// Large socket buffers absorb bursts between two event-loop iterations.
// SO_RCVBUFFORCE ignores net.core.rmem_max but needs CAP_NET_ADMIN; the plain option is capped.
void raise_buffer(int fd, int size, int force_opt, int opt, const char* what) {
  if (::setsockopt(fd, SOL_SOCKET, force_opt, &size, sizeof size) == 0) return;
  if (::setsockopt(fd, SOL_SOCKET, opt, &size, sizeof size) != 0) {
    log::debug("raising the UDP {} buffer failed: {}", what, errno_text(errno));
  }
}

std::string bind_error(uint16_t port, int err) {
  if (err == EADDRINUSE) {
    return fmt::format("UDP port {} is in use by another process; choose another ListenPort", port);
  }
  if (err == EACCES) {
    return fmt::format(
        "binding UDP port {} was refused ({}): ports below 1024 need root or "
        "CAP_NET_BIND_SERVICE; choose a port of 1024 or above",
        port, errno_text(err));
  }
  return fmt::format("binding UDP port {} failed: {}", port, errno_text(err));
}

Result<UniqueFd> make_socket(int family) {
  int fd = ::socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_UDP);
  if (fd < 0) {
    int err = errno;
    return fail(fmt::format("creating a UDP socket failed: {}", errno_text(err)));
  }
  return UniqueFd(fd);
}

Result<uint16_t> bound_port(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) {
    int err = errno;
    return fail("getsockname on the UDP socket failed: " + errno_text(err));
  }
  return from_sockaddr(ss).port;
}

}  // namespace

Result<UdpSocket> UdpSocket::bind(uint16_t port, const UdpBindOptions& options) {
  // Probe for IPv6 first: a kernel without it (ipv6.disable=1) refuses the family itself.
  int probe = ::socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, IPPROTO_UDP);
  if (probe >= 0) {
    ::close(probe);
    return bind(Endpoint{IpAddress::v6({}), port}, options);
  }
  if (int err = errno; err != EAFNOSUPPORT) {
    return fail(fmt::format("creating a UDP socket failed: {}", errno_text(err)));
  }
  log::info("IPv6 is not available; the UDP socket serves IPv4 only");
  return bind(Endpoint{IpAddress::v4(0u), port}, options);
}

Result<UdpSocket> UdpSocket::bind(const Endpoint& local, const UdpBindOptions& options) {
  bool v6 = local.address.is_v6();
  auto fd = make_socket(v6 ? AF_INET6 : AF_INET);
  if (!fd) return tl::unexpected(fd.error());
  int s = fd->get();
  if (v6) {
    // Dual stack on the wildcard; a specific IPv6 address can carry only IPv6 anyway.
    int v6only = local.address.is_unspecified() ? 0 : 1;
    if (::setsockopt(s, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof v6only) != 0) {
      int err = errno;
      return fail("setting IPV6_V6ONLY on the UDP socket failed: " + errno_text(err));
    }
  }
  if (options.reuse_port) {
    const int one = 1;
    if (::setsockopt(s, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0) {
      int err = errno;
      return fail("setting SO_REUSEPORT on the UDP socket failed: " + errno_text(err));
    }
  }
  raise_buffer(s, options.buffer_bytes, SO_RCVBUFFORCE, SO_RCVBUF, "receive");
  raise_buffer(s, options.buffer_bytes, SO_SNDBUFFORCE, SO_SNDBUF, "send");
  sockaddr_storage ss{};
  socklen_t len = to_sockaddr(local, v6, ss);
  if (::bind(s, reinterpret_cast<const sockaddr*>(&ss), len) != 0) {
    return fail(bind_error(local.port, errno));
  }
  auto port = bound_port(s);
  if (!port) return tl::unexpected(port.error());
  return UdpSocket(std::move(*fd), v6, *port);
}

Result<size_t> UdpSocket::recv(RecvBatch& batch) {
  batch.size_ = 0;
  auto& h = *batch.headers_;
  const unsigned count = static_cast<unsigned>(batch.capacity());
  for (unsigned i = 0; i < count; ++i) {
    // msg_namelen and msg_controllen are value-result: reset them before every call.
    msghdr& m = h.msgs[i].msg_hdr;
    m.msg_namelen = sizeof(sockaddr_storage);
    m.msg_flags = 0;
    m.msg_control = gro_ ? h.controls[i].bytes : nullptr;
    m.msg_controllen = gro_ ? sizeof(ControlBuffer) : 0;
  }
  int n = -1;
  for (int attempt = 0; attempt < kMaxRecvRetries; ++attempt) {
    n = ::recvmmsg(fd_.get(), h.msgs.data(), count, 0, nullptr);
    if (n >= 0) break;
    int err = errno;
    if (err == EAGAIN || err == EWOULDBLOCK) return 0;
    if (err == EINTR) continue;
    if (!is_transient_recv_error(err)) return fail("UDP receive failed: " + errno_text(err));
  }
  if (n < 0) return 0;
  for (int i = 0; i < n; ++i) {
    const mmsghdr& m = h.msgs[i];
    batch.truncated_[i] = (m.msg_hdr.msg_flags & MSG_TRUNC) != 0;
    batch.lens_[i] = std::min<size_t>(m.msg_len, batch.buffer_size_);
    const size_t segment = gro_ ? gro_segment_size(m.msg_hdr) : 0;
    batch.segment_sizes_[i] = segment == 0 || segment > batch.lens_[i] ? batch.lens_[i] : segment;
  }
  batch.size_ = static_cast<size_t>(n);
  return batch.size_;
}

void UdpSocket::count_send_error(int err) {
  last_errno_ = err;
  switch (err) {
    case EMSGSIZE:
      ++send_errors_.message_too_big;
      break;
    case ENETUNREACH:
    case EHOSTUNREACH:
    case EADDRNOTAVAIL:
    case ENETDOWN:
    case EHOSTDOWN:
      ++send_errors_.unreachable;
      break;
    case EPERM:
    case EACCES:
      ++send_errors_.not_permitted;
      break;
    default:
      ++send_errors_.other;
      break;
  }
}

size_t UdpSocket::coalescible(const SendBatch& batch, size_t pos, size_t end) const {
  if (!gso_) return 1;
  const size_t segment = batch.data_[pos].size();
  size_t bytes = segment;
  size_t n = 1;
  // Same endpoint, same size; a shorter datagram may come last and ends the message.
  while (pos + n < end && n < kMaxGsoSegments && batch.errors_[pos + n] == 0) {
    const size_t next = batch.data_[pos + n].size();
    if (next > segment || next == 0 || bytes + next > kMaxGsoBytes) break;
    if (batch.to_[pos + n] != batch.to_[pos]) break;
    bytes += next;
    ++n;
    if (next < segment) break;
  }
  return n;
}

Result<size_t> UdpSocket::send(SendBatch& batch, size_t start) {
  const size_t end = batch.size_;
  if (start >= end) return 0;
  auto& h = *batch.headers_;
  for (size_t i = start; i < end; ++i) {
    socklen_t len = to_sockaddr(batch.to_[i], v6_, h.names[i]);
    batch.errors_[i] = len == 0 ? EAFNOSUPPORT : 0;
    Bytes data = batch.data_[i];
    h.iovs[i] = iovec{const_cast<uint8_t*>(data.data()), data.size()};
  }
  size_t pos = start;
  size_t alone_until = start;  // entries of a coalesced message that failed go out one by one
  while (pos < end) {
    if (batch.errors_[pos] != 0) {  // no address this socket can reach
      count_send_error(batch.errors_[pos]);
      ++pos;
      continue;
    }
    // Messages from pos up to the next unreachable entry.
    size_t msgs = 0;
    for (size_t i = pos; i < end && batch.errors_[i] == 0;) {
      const size_t n = i < alone_until ? 1 : coalescible(batch, i, end);
      msghdr& m = h.msgs[msgs].msg_hdr;
      std::memset(&h.msgs[msgs], 0, sizeof(mmsghdr));
      m.msg_name = &h.names[i];
      m.msg_namelen = v6_ ? sizeof(sockaddr_in6) : sizeof(sockaddr_in);
      m.msg_iov = &h.iovs[i];
      m.msg_iovlen = n;
      if (n > 1) {
        set_gso_segment(m, h.controls[msgs], static_cast<uint16_t>(batch.data_[i].size()));
      }
      h.first[msgs] = static_cast<uint32_t>(i);
      h.count[msgs] = static_cast<uint32_t>(n);
      ++msgs;
      i += n;
    }
    int n = ::sendmmsg(fd_.get(), h.msgs.data(), static_cast<unsigned>(msgs), 0);
    if (n > 0) {
      pos = h.first[n - 1] + h.count[n - 1];
      continue;
    }
    int err = n == 0 ? EAGAIN : errno;
    if (err == EINTR) continue;
    if (err == EAGAIN || err == EWOULDBLOCK) break;
    if (is_fatal_send_error(err)) return fail("UDP send failed: " + errno_text(err));
    if (h.count[0] > 1) {
      // The route cannot segment (EIO: no checksum offload, xfrm): GSO stays off from now.
      if (err == EIO) {
        log::info("UDP GSO is not possible on this route; sending datagram by datagram");
        gso_ = false;
      }
      alone_until = pos + h.count[0];
      continue;
    }
    // sendmmsg reports an error only for the first message of a call: that one is dropped,
    // and the rest of the batch goes on.
    batch.errors_[pos] = err;
    count_send_error(err);
    ++pos;
  }
  return pos - start;
}

Status UdpSocket::set_dont_fragment(bool on) {
  int s = fd_.get();
  int v4 = on ? IP_PMTUDISC_PROBE : IP_PMTUDISC_DONT;
  // A dual-stack socket sends IPv4 through the IPv4 options too, so set both.
  if (::setsockopt(s, IPPROTO_IP, IP_MTU_DISCOVER, &v4, sizeof v4) != 0) {
    int err = errno;
    return fail("setting IP_MTU_DISCOVER on the UDP socket failed: " + errno_text(err));
  }
  if (v6_) {
    int v6 = on ? IPV6_PMTUDISC_PROBE : IPV6_PMTUDISC_DONT;
    if (::setsockopt(s, IPPROTO_IPV6, IPV6_MTU_DISCOVER, &v6, sizeof v6) != 0) {
      int err = errno;
      return fail("setting IPV6_MTU_DISCOVER on the UDP socket failed: " + errno_text(err));
    }
  }
  return {};
}

Status UdpSocket::set_mark(uint32_t mark) {
  if (::setsockopt(fd_.get(), SOL_SOCKET, SO_MARK, &mark, sizeof mark) != 0) {
    int err = errno;
    return fail(fmt::format("setting fwmark {:#x} (SO_MARK) on the UDP socket failed: {}{}", mark,
                            errno_text(err),
                            err == EPERM ? "; marking packets needs root or CAP_NET_ADMIN" : ""));
  }
  return {};
}

}  // namespace tern::io

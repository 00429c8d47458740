#include "io/tcp_stream.hpp"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <cstddef>

#include <fmt/core.h>

#include "io/sockaddr.hpp"
#include "io/sys_error.hpp"

namespace tern::io {

namespace {

Endpoint endpoint_of(int fd, bool remote) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  int rc = remote ? ::getpeername(fd, reinterpret_cast<sockaddr*>(&ss), &len)
                  : ::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len);
  if (rc != 0) return Endpoint{};
  return from_sockaddr(ss);
}

Status make_nonblocking(int fd) {
  int flags = ::fcntl(fd, F_GETFL);
  if (flags < 0 || ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) != 0) {
    return fail(fmt::format("making a TCP socket nonblocking failed: {}", errno_text(errno)));
  }
  return {};
}

}  // namespace

std::string connect_error_text(const Endpoint& to, int err) {
  switch (err) {
    case ECONNREFUSED:
      return fmt::format(
          "connection refused by {}: nothing listens on that TCP port (check the server's "
          "listening ports and any firewall that rejects)",
          to.to_string());
    case ETIMEDOUT:
      return fmt::format(
          "connecting to {} over TCP timed out: a firewall drops the SYN, or the host is down",
          to.to_string());
    case ENETUNREACH:
    case EHOSTUNREACH:
      return fmt::format("no route to {} ({}): check the address and this host's routes",
                         to.to_string(), errno_text(err));
    case ECONNRESET:
      return fmt::format("{} reset the TCP connection", to.to_string());
    default:
      return fmt::format("TCP connection to {} failed: {}", to.to_string(), errno_text(err));
  }
}

Result<TcpStream> TcpStream::connect(const Endpoint& to, const TcpConnectOptions& options) {
  bool v6 = !to.address.unmapped().is_v4();
  int fd = ::socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return fail(fmt::format("creating a TCP socket failed: {}", errno_text(errno)));
  UniqueFd owned(fd);
  if (options.mark != 0 &&
      ::setsockopt(fd, SOL_SOCKET, SO_MARK, &options.mark, sizeof options.mark) != 0) {
    const int err = errno;
    return fail(fmt::format("setting fwmark {:#x} (SO_MARK) on a TCP socket failed: {}{}",
                            options.mark, errno_text(err),
                            err == EPERM ? "; marking packets needs root or CAP_NET_ADMIN" : ""));
  }
  if (options.mss != 0) {
    const int mss = options.mss;
    if (::setsockopt(fd, IPPROTO_TCP, TCP_MAXSEG, &mss, sizeof mss) != 0) {
      return fail(fmt::format("setting the TCP segment size {} (TCP_MAXSEG) failed: {}", mss,
                              errno_text(errno)));
    }
  }
  sockaddr_storage ss{};
  socklen_t len = to_sockaddr(to, v6, ss);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&ss), len) == 0) {
    return TcpStream(std::move(owned), to, true);
  }
  int err = errno;
  if (err != EINPROGRESS) return fail(connect_error_text(to, err));
  return TcpStream(std::move(owned), to, false);
}

Result<TcpStream> TcpStream::adopt(UniqueFd fd) {
  if (!fd) return fail("adopting a TCP stream: no socket");
  if (auto ok = make_nonblocking(fd.get()); !ok) return tl::unexpected(ok.error());
  Endpoint peer = endpoint_of(fd.get(), true);
  return TcpStream(std::move(fd), peer, true);
}

Result<bool> TcpStream::finish_connect() {
  if (connected_) return true;
  int err = 0;
  socklen_t len = sizeof err;
  if (::getsockopt(fd_.get(), SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
  if (err == EINPROGRESS || err == EALREADY) return false;
  if (err != 0) return fail(connect_error_text(peer_, err));
  // SO_ERROR is 0 both when connected and while the handshake still runs: ask for the peer.
  sockaddr_storage ss{};
  socklen_t sl = sizeof ss;
  if (::getpeername(fd_.get(), reinterpret_cast<sockaddr*>(&ss), &sl) != 0) {
    if (errno == ENOTCONN) return false;
    return fail(connect_error_text(peer_, errno));
  }
  connected_ = true;
  return true;
}

Result<IoResult> TcpStream::read(MutableBytes buf) {
  for (;;) {
    ssize_t n = ::recv(fd_.get(), buf.data(), buf.size(), 0);
    if (n > 0) return IoResult{static_cast<size_t>(n), IoWait::kNone, false};
    if (n == 0) return IoResult{0, IoWait::kNone, !buf.empty()};
    int err = errno;
    if (err == EINTR) continue;
    if (err == EAGAIN || err == EWOULDBLOCK) return IoResult{0, IoWait::kRead, false};
    if (err == ENOTCONN) return IoResult{0, IoWait::kWrite, false};  // still connecting
    return fail(err == ECONNRESET ? fmt::format("{} reset the TCP connection", peer_.to_string())
                                  : fmt::format("reading from TCP {} failed: {}", peer_.to_string(),
                                                errno_text(err)));
  }
}

Result<IoResult> TcpStream::write(Bytes data) {
  for (;;) {
    ssize_t n = ::send(fd_.get(), data.data(), data.size(), MSG_NOSIGNAL);
    if (n >= 0) return IoResult{static_cast<size_t>(n), IoWait::kNone, false};
    int err = errno;
    if (err == EINTR) continue;
    if (err == EAGAIN || err == EWOULDBLOCK || err == ENOTCONN) {
      return IoResult{0, IoWait::kWrite, false};
    }
    if (err == EPIPE || err == ECONNRESET) {
      return fail(fmt::format("{} closed the TCP connection", peer_.to_string()));
    }
    return fail(fmt::format("writing to TCP {} failed: {}", peer_.to_string(), errno_text(err)));
  }
}

Status TcpStream::shutdown_write() {
  if (::shutdown(fd_.get(), SHUT_WR) != 0 && errno != ENOTCONN) {
    return fail(fmt::format("closing the TCP stream to {} failed: {}", peer_.to_string(),
                            errno_text(errno)));
  }
  return {};
}

Status TcpStream::set_no_delay(bool on) {
  int v = on ? 1 : 0;
  if (::setsockopt(fd_.get(), IPPROTO_TCP, TCP_NODELAY, &v, sizeof v) != 0) {
    return fail(fmt::format("setting TCP_NODELAY failed: {}", errno_text(errno)));
  }
  return {};
}

std::optional<TcpProgress> TcpStream::progress() const {
  tcp_info info{};
  socklen_t len = sizeof info;
  if (::getsockopt(fd_.get(), IPPROTO_TCP, TCP_INFO, &info, &len) != 0) return std::nullopt;
  if (len < offsetof(tcp_info, tcpi_sacked)) return std::nullopt;
  return TcpProgress{info.tcpi_unacked, info.tcpi_retransmits, info.tcpi_snd_mss};
}

Endpoint TcpStream::local() const {
  return endpoint_of(fd_.get(), false);
}

}  // namespace tern::io

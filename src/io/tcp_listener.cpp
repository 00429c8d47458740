// TcpListener (declared in io/tcp_stream.hpp): accepting nonblocking streams.
#include <errno.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <fmt/core.h>

#include "io/sockaddr.hpp"
#include "io/sys_error.hpp"
#include "io/tcp_stream.hpp"

namespace tern::io {

namespace {

std::string listen_error(const Endpoint& local, int err) {
  if (err == EADDRINUSE) {
    return fmt::format("TCP {} is in use by another process; choose another port",
                       local.to_string());
  }
  if (err == EACCES) {
    return fmt::format(
        "listening on TCP {} was refused ({}): ports below 1024 need root or "
        "CAP_NET_BIND_SERVICE",
        local.to_string(), errno_text(err));
  }
  if (err == EADDRNOTAVAIL) {
    return fmt::format("cannot listen on TCP {}: no interface of this host has that address",
                       local.to_string());
  }
  return fmt::format("listening on TCP {} failed: {}", local.to_string(), errno_text(err));
}

}  // namespace

Result<TcpListener> TcpListener::listen(const Endpoint& local, int backlog) {
  bool v6 = !local.address.unmapped().is_v4();
  int fd = ::socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return fail(fmt::format("creating a TCP socket failed: {}", errno_text(errno)));
  UniqueFd owned(fd);
  int one = 1;
  // A restarted server rebinds at once instead of waiting out TIME_WAIT.
  (void)::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (v6) {
    int zero = 0;  // [::] takes IPv4 too
    (void)::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);
  }
  sockaddr_storage ss{};
  socklen_t len = to_sockaddr(local, v6, ss);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0 || ::listen(fd, backlog) != 0) {
    return fail(listen_error(local, errno));
  }
  sockaddr_storage bound{};
  socklen_t bl = sizeof bound;
  Endpoint actual = local;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &bl) == 0) {
    actual = from_sockaddr(bound);
  }
  return TcpListener(std::move(owned), actual);
}

Result<std::optional<TcpStream>> TcpListener::accept() {
  for (;;) {
    int fd = ::accept4(fd_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd >= 0) {
      auto stream = TcpStream::adopt(UniqueFd(fd));
      if (!stream) return tl::unexpected(stream.error());
      return std::optional<TcpStream>(std::move(*stream));
    }
    int err = errno;
    if (err == EINTR) continue;
    // A connection reset before accept, or a network error Linux reports on accept: the
    // listener is fine, try again on the next readiness.
    if (err == EAGAIN || err == EWOULDBLOCK || err == ECONNABORTED || err == EPROTO ||
        err == ENETDOWN || err == ENOPROTOOPT || err == EHOSTDOWN || err == ENONET ||
        err == EHOSTUNREACH || err == ENETUNREACH) {
      return std::optional<TcpStream>();
    }
    if (err == EMFILE || err == ENFILE) {
      return fail(fmt::format(
          "accepting on TCP {}: out of file descriptors ({}); raise the limit (ulimit -n) or "
          "lower the connection cap",
          local_.to_string(), errno_text(err)));
    }
    return fail(fmt::format("accepting on TCP {} failed: {}", local_.to_string(), errno_text(err)));
  }
}

}  // namespace tern::io

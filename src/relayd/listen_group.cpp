#include "relayd/listen_group.hpp"

#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "io/fd.hpp"
#include "io/sockaddr.hpp"

namespace tern::relayd {
namespace {

std::string in_use(const Endpoint& at, const std::string& why) {
  return "--listen " + at.to_string() + ": " + why +
         " (a port below 1024 needs root; a specific address must be on an interface)";
}

void raise_buffers(int fd) {
  // FORCE passes net.core.[rw]mem_max when the relay runs as root; otherwise the plain
  // option takes what those allow.
  for (auto [force, plain] : {std::pair{SO_RCVBUFFORCE, SO_RCVBUF}, {SO_SNDBUFFORCE, SO_SNDBUF}}) {
    if (::setsockopt(fd, SOL_SOCKET, force, &kListenerBuffer, sizeof kListenerBuffer) != 0) {
      (void)::setsockopt(fd, SOL_SOCKET, plain, &kListenerBuffer, sizeof kListenerBuffer);
    }
  }
}

// One member of a SO_REUSEPORT group, as an io::UdpSocket. io::UdpSocket cannot set the
// option before it binds, so a socket it bound to an ephemeral port of the same address
// (same family, same IPV6_V6ONLY) has its descriptor replaced by ours with dup3: the batched
// receive and send then work on the group member unchanged (its local_port() is the
// placeholder's, which nothing here uses).
Result<io::UdpSocket> bind_member(const Endpoint& at) {
  const bool v6 = at.address.is_v6();
  io::UniqueFd fd(
      ::socket(v6 ? AF_INET6 : AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_UDP));
  if (!fd) return fail(in_use(at, std::string("socket: ") + std::strerror(errno)));
  const int one = 1;
  if (::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0) {
    return fail(in_use(at, std::string("SO_REUSEPORT: ") + std::strerror(errno)));
  }
  if (v6) {
    const int v6only = at.address.is_unspecified() ? 0 : 1;  // as io::UdpSocket::bind
    (void)::setsockopt(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof v6only);
  }
  raise_buffers(fd.get());
  sockaddr_storage ss{};
  const socklen_t len = io::to_sockaddr(at, v6, ss);
  if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&ss), len) != 0) {
    return fail(in_use(at, std::strerror(errno)));
  }
  auto placeholder = io::UdpSocket::bind(Endpoint{at.address, 0});
  if (!placeholder) return fail(in_use(at, placeholder.error().message));
  if (::dup3(fd.get(), placeholder->fd(), O_CLOEXEC) < 0) {
    return fail(in_use(at, std::string("dup3: ") + std::strerror(errno)));
  }
  return std::move(*placeholder);
}

uint16_t bound_port(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return 0;
  return io::from_sockaddr(ss).port;
}

}  // namespace

Result<std::vector<io::UdpSocket>> bind_listener_group(const Endpoint& at, size_t count) {
  std::vector<io::UdpSocket> out;
  if (count <= 1) {
    auto sock = io::UdpSocket::bind(at);
    if (!sock) return fail(in_use(at, sock.error().message));
    raise_buffers(sock->fd());
    out.push_back(std::move(*sock));
    return out;
  }
  // A plain bind first: SO_REUSEPORT alone would share the port with another relay of the
  // same user instead of failing, and split its clients with it.
  if (at.port != 0) {
    auto probe = io::UdpSocket::bind(at);
    if (!probe) return fail(in_use(at, probe.error().message));
  }
  Endpoint member = at;
  for (size_t i = 0; i < count; ++i) {
    auto sock = bind_member(member);
    if (!sock) return tl::unexpected(sock.error());
    if (i == 0 && member.port == 0) member.port = bound_port(sock->fd());
    out.push_back(std::move(*sock));
  }
  return out;
}

int listener_receive_buffer(const io::UdpSocket& socket) {
  int value = 0;
  socklen_t len = sizeof value;
  if (::getsockopt(socket.fd(), SOL_SOCKET, SO_RCVBUF, &value, &len) != 0) return 0;
  return value / 2;
}

}  // namespace tern::relayd

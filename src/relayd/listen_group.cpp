#include "relayd/listen_group.hpp"

#include <sys/socket.h>

namespace tern::relayd {
namespace {

std::string in_use(const Endpoint& at, const std::string& why) {
  return "--listen " + at.to_string() + ": " + why +
         " (a port below 1024 needs root; a specific address must be on an interface)";
}

constexpr io::UdpBindOptions kPlain{.buffer_bytes = kListenerBuffer};
constexpr io::UdpBindOptions kMember{.buffer_bytes = kListenerBuffer, .reuse_port = true};

}  // namespace

Result<std::vector<io::UdpSocket>> bind_listener_group(const Endpoint& at, size_t count) {
  std::vector<io::UdpSocket> out;
  if (count <= 1) {
    auto sock = io::UdpSocket::bind(at, kPlain);
    if (!sock) return fail(in_use(at, sock.error().message));
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
    auto sock = io::UdpSocket::bind(member, kMember);
    if (!sock) return fail(in_use(at, sock.error().message));
    member.port = sock->local_port();  // port 0: the first member's ephemeral port for all
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

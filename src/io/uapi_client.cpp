#include "io/uapi_client.hpp"

#include <poll.h>

#include "io/unix_socket.hpp"

namespace tern::io {
namespace {

bool wait_fd(int fd, short events, int timeout_ms) {
  pollfd p{fd, events, 0};
  return ::poll(&p, 1, timeout_ms) > 0;
}

}  // namespace

Result<std::string> uapi_exchange(const std::string& socket_path, std::string_view request,
                                  size_t max_reply, int timeout_ms) {
  auto fd = unix_connect(socket_path);
  if (!fd) return fail(fd.error().message);
  size_t sent = 0;
  while (sent < request.size()) {
    if (!wait_fd(fd->get(), POLLOUT, timeout_ms))
      return fail("timed out sending to " + socket_path);
    auto n = write_some(fd->get(), Bytes(reinterpret_cast<const uint8_t*>(request.data()) + sent,
                                         request.size() - sent));
    if (!n) return fail(n.error().message);
    sent += *n;
  }
  std::string reply;
  uint8_t buf[65536];
  while (reply.find("\n\n") == std::string::npos) {
    if (!wait_fd(fd->get(), POLLIN, timeout_ms)) return fail("no answer from " + socket_path);
    auto n = read_some(fd->get(), buf);
    if (!n) return fail(n.error().message);
    if (!*n) continue;    // spurious wakeup
    if (**n == 0) break;  // the server closed
    reply.append(reinterpret_cast<const char*>(buf), **n);
    if (reply.size() > max_reply) return fail("the answer from " + socket_path + " is too large");
  }
  return reply;
}

}  // namespace tern::io

#include "io/genl.hpp"

#include <linux/netlink.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include "io/netlink_receive.hpp"
#include "io/sys_error.hpp"

namespace tern::io {
namespace {

std::string sys_error(const char* what) {
  return std::string(what) + ": " + errno_text(errno);
}

}  // namespace

Result<GenlSocket> GenlSocket::open() {
  UniqueFd fd(::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_GENERIC));
  if (fd.get() < 0) return fail(sys_error("opening a generic netlink socket"));
  sockaddr_nl local{};
  local.nl_family = AF_NETLINK;
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&local), sizeof local) != 0) {
    return fail(sys_error("binding a generic netlink socket"));
  }
  return GenlSocket(std::move(fd));
}

Result<GenlReply> GenlSocket::transact(Bytes request, uint32_t seq) {
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  if (::sendto(fd_.get(), request.data(), request.size(), 0, reinterpret_cast<sockaddr*>(&kernel),
               sizeof kernel) < 0) {
    return fail(sys_error("sending a generic netlink request"));
  }
  auto answer = receive_netlink_answer(fd_.get(), seq, "a generic netlink request");
  if (!answer) return fail(answer.error().message);
  return GenlReply{answer->error, std::move(answer->messages)};
}

}  // namespace tern::io

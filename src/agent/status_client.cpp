#include "agent/status_client.hpp"

#include <poll.h>

#include <algorithm>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "io/unix_socket.hpp"

namespace tern::agent {
namespace {

constexpr int kTimeoutMs = 3000;
constexpr size_t kMaxReply = 16 * 1024 * 1024;

bool wait_fd(int fd, short events) {
  pollfd p{fd, events, 0};
  return ::poll(&p, 1, kTimeoutMs) > 0;
}

}  // namespace

Result<InterfaceStatus> query_status(const std::string& socket_path) {
  auto fd = io::unix_connect(socket_path);
  if (!fd) return fail(fd.error().message);
  const std::string request = std::string(kStatusRequest) + "\n\n";
  size_t sent = 0;
  while (sent < request.size()) {
    if (!wait_fd(fd->get(), POLLOUT)) return fail("timed out sending to " + socket_path);
    auto n = io::write_some(
        fd->get(),
        Bytes(reinterpret_cast<const uint8_t*>(request.data()) + sent, request.size() - sent));
    if (!n) return fail(n.error().message);
    sent += *n;
  }
  std::string reply;
  uint8_t buf[65536];
  while (reply.find("\n\n") == std::string::npos) {
    if (!wait_fd(fd->get(), POLLIN)) return fail("no answer from " + socket_path);
    auto n = io::read_some(fd->get(), buf);
    if (!n) return fail(n.error().message);
    if (!*n) continue;    // spurious wakeup
    if (**n == 0) break;  // closed
    reply.append(reinterpret_cast<const char*>(buf), **n);
    if (reply.size() > kMaxReply) return fail("the answer from " + socket_path + " is too large");
  }
  const std::string prefix = "status=";
  if (reply.rfind(prefix, 0) != 0) {
    return fail(socket_path + " is not served by tern (wireguard-go?); use `wg show` for it");
  }
  size_t end = reply.find('\n');
  try {
    return status_from_json(
        nlohmann::json::parse(reply.substr(prefix.size(), end - prefix.size())));
  } catch (const nlohmann::json::exception& e) {
    return fail("unreadable status from " + socket_path + ": " + e.what());
  }
}

std::vector<std::string> list_interfaces(const std::string& socket_dir) {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(socket_dir, ec)) {
    if (entry.path().extension() == ".sock") names.push_back(entry.path().stem().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace tern::agent

#include "agent/status_client.hpp"

#include <algorithm>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "io/uapi_client.hpp"

namespace tern::agent {
namespace {

constexpr int kTimeoutMs = 3000;
constexpr size_t kMaxReply = 16 * 1024 * 1024;

}  // namespace

Result<InterfaceStatus> query_status(const std::string& socket_path) {
  auto answer =
      io::uapi_exchange(socket_path, std::string(kStatusRequest) + "\n\n", kMaxReply, kTimeoutMs);
  if (!answer) return fail(answer.error().message);
  const std::string& reply = *answer;
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

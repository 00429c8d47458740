// `tern status [IFACE] [--json]`: asks each running agent for its status.
#include <cstdio>

#include <nlohmann/json.hpp>

#include "agent/status_client.hpp"
#include "cli/commands.hpp"
#include "io/clock.hpp"

namespace tern::cli {
namespace {
constexpr char kSocketDir[] = "/var/run/wireguard";
}

int cmd_status(const std::string& interface_name, bool json) {
  std::vector<std::string> names;
  if (!interface_name.empty()) {
    names.push_back(interface_name);
  } else {
    names = agent::list_interfaces(kSocketDir);
  }
  nlohmann::json out;
  out["interfaces"] = nlohmann::json::array();
  std::string text;
  int rc = 0;
  for (const auto& name : names) {
    auto status = agent::query_status(std::string(kSocketDir) + "/" + name + ".sock");
    if (!status) {
      if (!interface_name.empty()) {
        std::fprintf(stderr, "tern: interface %s: %s\n", name.c_str(),
                     status.error().message.c_str());
        std::fprintf(stderr, "tern: is `tern up` running for it? (needs root to read)\n");
        rc = 1;
      }
      continue;  // not a tern interface: skip it when listing all
    }
    out["interfaces"].push_back(agent::to_json(*status));
    if (!text.empty()) text += "\n";
    text += agent::format_status(*status, io::wall_now());
  }
  if (json) {
    std::printf("%s\n", out.dump(2).c_str());
  } else if (text.empty() && rc == 0) {
    std::printf("no tern interface is running (start one with `tern up --config FILE`)\n");
  } else {
    std::printf("%s", text.c_str());
  }
  return rc;
}

}  // namespace tern::cli

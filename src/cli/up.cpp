// `tern up --config FILE`: load the config, create the interface, run until a signal.
#include <unistd.h>

#include <cstdio>
#include <filesystem>

#include "agent/agent.hpp"
#include "base/log.hpp"
#include "cli/commands.hpp"
#include "config/config.hpp"

namespace tern::cli {
namespace {

// wg-quick names the interface after the file: /etc/wireguard/wg0.conf -> wg0.
std::string interface_from_path(const std::string& path) {
  std::filesystem::path p(path);
  std::string stem = p.extension() == ".conf" ? p.stem().string() : p.filename().string();
  return stem;
}

bool valid_interface_name(const std::string& name) {
  if (name.empty() || name.size() >= 16) return false;  // IFNAMSIZ
  for (char c : name) {
    if (c == '/' || c == ' ' || c == ':' || c == '\t' || c == '\n') return false;
  }
  return name != "." && name != "..";
}

}  // namespace

int cmd_up(const std::string& config_path, const std::string& interface_name, bool verbose) {
  if (verbose) log::set_level(log::Level::kDebug);
  auto config = config::load_config(config_path);
  if (!config) {
    std::fprintf(stderr, "tern: %s\n", config.error().message.c_str());
    return 1;
  }
  for (const auto& w : config->warnings)
    log::warn("{}", w);

  std::string name = interface_name.empty() ? interface_from_path(config_path) : interface_name;
  if (!valid_interface_name(name)) {
    std::fprintf(stderr,
                 "tern: '%s' is not a valid interface name (1-15 characters, no '/', ':' or "
                 "spaces); pass one with --interface NAME\n",
                 name.c_str());
    return 1;
  }
  if (geteuid() != 0) {
    log::warn("not running as root: creating {} needs root or CAP_NET_ADMIN", name);
  }
  agent::AgentOptions options;
  options.interface_name = name;
  auto agent = agent::Agent::start(*config, options);
  if (!agent) {
    std::fprintf(stderr, "tern: %s\n", agent.error().message.c_str());
    return 1;
  }
  if (auto st = (*agent)->run(); !st) {
    std::fprintf(stderr, "tern: %s\n", st.error().message.c_str());
    return 1;
  }
  return 0;
}

}  // namespace tern::cli

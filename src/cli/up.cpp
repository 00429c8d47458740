// `tern up --config FILE` and `tern up --control URL`: load the config (or the control
// state), create the interface, run until a signal.
#include "cli/up.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>

#include <cctype>
#include <cstdio>
#include <filesystem>

#include "agent/agent.hpp"
#include "agent/control_link.hpp"
#include "agent/control_state.hpp"
#include "base/log.hpp"
#include "cli/commands.hpp"
#include "config/config.hpp"
#include "control/api_requests.hpp"

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

// The machine's name for the control server: the host name, cut to what it accepts.
std::string default_name() {
  std::array<char, 256> host{};
  if (::gethostname(host.data(), host.size() - 1) != 0) return "";
  std::string name;
  for (const char* c = host.data(); *c && name.size() < control::kMaxNameLength; ++c) {
    if (std::isalnum(static_cast<unsigned char>(*c)) || *c == '-' || *c == '_' || *c == '.') {
      name += *c;
    }
  }
  return name;
}

int run_agent(const config::InterfaceConfig& config, const std::string& name,
              std::unique_ptr<agent::ControlLink> control) {
  if (geteuid() != 0) {
    log::warn("not running as root: creating {} needs root or CAP_NET_ADMIN", name);
  }
  agent::AgentOptions options;
  options.interface_name = name;
  auto agent = agent::Agent::start(config, options, std::move(control));
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

}  // namespace

int cmd_up_control(const UpControlArgs& args, config::InterfaceConfig base) {
  if (args.verbose) log::set_level(log::Level::kDebug);
  const std::string name = args.interface_name.empty() ? "tern0" : args.interface_name;
  if (!valid_interface_name(name)) {
    std::fprintf(stderr, "tern: '%s' is not a valid interface name (1-15 characters)\n",
                 name.c_str());
    return 1;
  }
  std::string dir = args.state_dir;
  if (dir.empty()) {
    ::mkdir("/var/lib/tern", 0755);  // its parent; the state directory itself is 0700
    dir = "/var/lib/tern/" + name;
  }
  auto state = agent::load_control_state(dir, args.url);
  if (!state) {
    std::fprintf(stderr, "tern: %s\n", state.error().message.c_str());
    return 1;
  }
  if (state->stream_token.empty() && args.setup_key.empty() && !state->map) {
    std::fprintf(stderr,
                 "tern: %s holds no registration with %s; join with --setup-key KEY (from "
                 "`tern control keys create` on the server)\n",
                 dir.c_str(), args.url.c_str());
    return 2;
  }
  config::InterfaceConfig config = std::move(base);
  config.private_key = state->private_key;
  if (!config.listen_port) config.listen_port = args.listen_port;
  config.control.reset();
  agent::ControlOptions options{args.url, args.setup_key, args.ca_file,
                                args.name.empty() ? default_name() : args.name};
  auto link = agent::ControlLink::create(options, std::move(*state));
  if (!link) {
    std::fprintf(stderr, "tern: %s\n", link.error().message.c_str());
    return 1;
  }
  return run_agent(config, name, std::move(*link));
}

int cmd_up(const std::string& config_path, const std::string& interface_name, bool verbose) {
  if (verbose) log::set_level(log::Level::kDebug);
  auto config = config::load_config(config_path);
  if (!config) {
    std::fprintf(stderr, "tern: %s\n", config.error().message.c_str());
    return 1;
  }
  for (const auto& w : config->warnings)
    log::warn("{}", w);
  if (config->control) {
    const config::ControlConfig& c = *config->control;
    UpControlArgs args{c.server,
                       c.setup_key,
                       c.ca_file,
                       c.state_dir,
                       interface_name.empty() ? interface_from_path(config_path) : interface_name,
                       c.name,
                       51820,
                       verbose};
    return cmd_up_control(args, std::move(*config));
  }

  std::string name = interface_name.empty() ? interface_from_path(config_path) : interface_name;
  if (!valid_interface_name(name)) {
    std::fprintf(stderr,
                 "tern: '%s' is not a valid interface name (1-15 characters, no '/', ':' or "
                 "spaces); pass one with --interface NAME\n",
                 name.c_str());
    return 1;
  }
  return run_agent(*config, name, nullptr);
}

}  // namespace tern::cli

// `tern up --control URL`: join a tern control network (the agent's side of docs/control.md).
#pragma once

#include <cstdint>
#include <string>

#include "config/config.hpp"

namespace tern::cli {

struct UpControlArgs {
  std::string url;
  std::string setup_key;
  std::string ca_file;
  std::string state_dir;  // default /var/lib/tern/IFACE
  std::string interface_name;
  std::string name;  // registered machine name; default: the host name
  uint16_t listen_port = 51820;
  bool verbose = false;
};

// `base` carries the [Interface] keys of a config file with [Control] (MTU, ...).
int cmd_up_control(const UpControlArgs& args, config::InterfaceConfig base = {});

}  // namespace tern::cli

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "config/config.hpp"

namespace tern::config {

Result<InterfaceConfig> load_config(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    return fail("cannot read " + path + ": " + std::strerror(errno) +
                "; check the path given to `tern up --config`");
  }
  if (S_ISDIR(st.st_mode)) {
    return fail(path + " is a directory; give the config file, e.g. /etc/wireguard/wg0.conf");
  }
  if (static_cast<uint64_t>(st.st_size) > kMaxConfigBytes) {
    return fail(path + " is larger than 1 MiB; is it really a WireGuard config?");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return fail("cannot read " + path + ": " + std::strerror(errno) +
                "; check its permissions (tern up runs as root)");
  }
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return fail("cannot read " + path + ": read error");
  auto config = parse_config(text.str(), path);
  if (config && (st.st_mode & S_IRWXO) != 0) {
    // wg-quick warns the same way: the file holds the interface's private key.
    config->warnings.push_back(path + " can be read by any user and holds a private key; " +
                               "run chmod 600 " + path);
  }
  return config;
}

}  // namespace tern::config

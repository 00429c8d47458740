#include "agent/control_state.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "control/agent_messages.hpp"
#include "crypto/key_encoding.hpp"
#include "crypto/x25519.hpp"

namespace tern::agent {
namespace {

constexpr char kKeyFile[] = "private.key";
constexpr char kServerFile[] = "server";
constexpr char kTokenFile[] = "token";
constexpr char kMapFile[] = "map.json";
constexpr size_t kMaxFile = 64 << 20;

std::string path(const std::string& dir, const char* name) {
  return dir + "/" + name;
}

// nullopt when the file does not exist.
Result<std::optional<std::string>> read_file(const std::string& file) {
  struct stat st {};
  if (::stat(file.c_str(), &st) != 0) {
    if (errno == ENOENT) return std::optional<std::string>();
    return fail("cannot read " + file + ": " + std::strerror(errno));
  }
  if (static_cast<uint64_t>(st.st_size) > kMaxFile) return fail(file + " is too large");
  std::ifstream in(file, std::ios::binary);
  if (!in) return fail("cannot read " + file + ": " + std::strerror(errno));
  std::ostringstream text;
  text << in.rdbuf();
  return std::optional<std::string>(text.str());
}

std::string trimmed(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' '))
    s.pop_back();
  return s;
}

Status write_file(const std::string& dir, const char* name, const std::string& text) {
  const std::string final_path = path(dir, name);
  const std::string tmp = final_path + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return fail("cannot write " + tmp + ": " + std::strerror(errno));
  size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const std::string why = std::strerror(errno);
      ::close(fd);
      return fail("cannot write " + tmp + ": " + why);
    }
    done += static_cast<size_t>(n);
  }
  const bool synced = ::fsync(fd) == 0;
  ::close(fd);
  if (!synced || ::rename(tmp.c_str(), final_path.c_str()) != 0) {
    return fail("cannot write " + final_path + ": " + std::strerror(errno));
  }
  return {};
}

}  // namespace

Result<ControlState> load_control_state(const std::string& dir, const std::string& server_url) {
  ControlState s;
  s.dir = dir;
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return fail("cannot create the state directory " + dir + ": " + std::strerror(errno) +
                "; choose another with --state DIR");
  }
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    return fail(dir + " is not a directory; choose another with --state DIR");
  }
  if ((st.st_mode & 077) != 0) ::chmod(dir.c_str(), 0700);  // it holds a private key

  auto key_text = read_file(path(dir, kKeyFile));
  if (!key_text) return tl::unexpected(key_text.error());
  if (*key_text) {
    auto key = crypto::key_from_base64(trimmed(**key_text));
    if (!key) return fail(path(dir, kKeyFile) + ": " + key.error().message);
    s.private_key = *key;
  } else {
    s.private_key = crypto::generate_private_key();
    if (auto st2 = write_file(dir, kKeyFile, crypto::key_to_base64(s.private_key) + "\n"); !st2) {
      return tl::unexpected(st2.error());
    }
  }

  auto server = read_file(path(dir, kServerFile));
  auto token = read_file(path(dir, kTokenFile));
  if (!server) return tl::unexpected(server.error());
  if (!token) return tl::unexpected(token.error());
  s.server_url = server_url;
  const bool same_server = *server && trimmed(**server) == server_url;
  if (same_server && *token) s.stream_token = trimmed(**token);

  auto map_text = read_file(path(dir, kMapFile));
  if (!map_text) return tl::unexpected(map_text.error());
  if (*map_text && same_server) {
    auto map = control::parse_map_text(**map_text);
    const crypto::Key own = crypto::public_key_from_private(s.private_key);
    // A damaged or foreign cache is not fatal: the server sends a new map.
    if (map && map->self.public_key == own) {
      s.map = std::move(*map);
      struct stat mst {};
      if (::stat(path(dir, kMapFile).c_str(), &mst) == 0) s.map_saved_unix = mst.st_mtime;
    }
  }
  return s;
}

Status save_registration(const ControlState& state) {
  if (auto st = write_file(state.dir, kServerFile, state.server_url + "\n"); !st) return st;
  return write_file(state.dir, kTokenFile, state.stream_token + "\n");
}

Status save_map(const std::string& dir, const control::NetworkMap& map) {
  return write_file(dir, kMapFile, control::map_json(map).dump() + "\n");
}

void forget_registration(const std::string& dir) {
  ::unlink(path(dir, kTokenFile).c_str());
  ::unlink(path(dir, kMapFile).c_str());
}

}  // namespace tern::agent

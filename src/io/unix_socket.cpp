#include "io/unix_socket.hpp"

#include <errno.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>

#include <fmt/core.h>

#include "io/sys_error.hpp"

namespace tern::io {

namespace {

// The UAPI socket of interface wg0 is .../wg0.sock: errors speak of the interface.
std::string interface_of(const std::string& path) {
  std::string name = std::filesystem::path(path).filename().string();
  if (name.size() > 5 && name.ends_with(".sock")) name.resize(name.size() - 5);
  return name;
}

Result<sockaddr_un> make_address(const std::string& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof addr.sun_path) {
    return fail(fmt::format("socket path '{}' is empty or longer than {} bytes", path,
                            sizeof addr.sun_path - 1));
  }
  std::memcpy(addr.sun_path, path.data(), path.size());
  return addr;
}

// 0 when somebody accepted the connection, else the errno of connect(). A nonblocking
// connect cannot hang on a live listener whose backlog is full: it fails with EAGAIN.
int try_connect(const sockaddr_un& addr, bool nonblocking, UniqueFd* out) {
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | (nonblocking ? SOCK_NONBLOCK : 0), 0));
  if (!fd.valid()) return errno;
  int rc;
  do {
    rc = ::connect(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr);
  } while (rc != 0 && errno == EINTR);
  if (rc != 0) return errno;
  if (out != nullptr) *out = std::move(fd);
  return 0;
}

Status ensure_parent_directory(const std::string& path) {
  std::filesystem::path dir = std::filesystem::path(path).parent_path();
  if (dir.empty()) return {};
  std::error_code ec;
  if (std::filesystem::exists(dir, ec)) return {};
  if (!std::filesystem::create_directories(dir, ec) && ec) {
    return fail(fmt::format("creating directory {} for the UAPI socket failed: {}", dir.string(),
                            ec.message()));
  }
  ::chmod(dir.c_str(), 0755);  // create_directories honours the umask; ask for 0755 exactly
  return {};
}

// A socket file left behind by a process that died is removed; a live one is an error.
Status clear_stale_socket(const std::string& path, const sockaddr_un& addr) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return {};
    int err = errno;
    return fail(fmt::format("checking {} failed: {}", path, errno_text(err)));
  }
  if (!S_ISSOCK(st.st_mode)) {
    return fail(fmt::format("{} exists and is not a socket: remove it", path));
  }
  int err = try_connect(addr, true, nullptr);
  if (err == 0 || err == EAGAIN) {
    return fail(fmt::format(
        "another process serves {} (something answers on {}): stop it first, e.g. tern down",
        interface_of(path), path));
  }
  if (err != ECONNREFUSED) {
    return fail(fmt::format("checking whether {} is in use failed: {}", path, errno_text(err)));
  }
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
    int uerr = errno;
    return fail(fmt::format("removing the stale socket {} failed: {}", path, errno_text(uerr)));
  }
  return {};
}

}  // namespace

Result<UnixListener> UnixListener::listen(const std::string& path) {
  auto addr = make_address(path);
  if (!addr) return tl::unexpected(addr.error());
  if (auto st = ensure_parent_directory(path); !st) return tl::unexpected(st.error());
  if (auto st = clear_stale_socket(path, *addr); !st) return tl::unexpected(st.error());

  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd.valid()) {
    int err = errno;
    return fail("creating a Unix socket failed: " + errno_text(err));
  }
  if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&*addr), sizeof *addr) != 0) {
    int err = errno;
    return fail(fmt::format("binding the UAPI socket {} failed: {}", path, errno_text(err)));
  }
  // Until listen() nobody can connect, so tightening the mode now leaves no window.
  struct stat st {};
  if (::chmod(path.c_str(), 0600) != 0 || ::lstat(path.c_str(), &st) != 0) {
    int err = errno;
    ::unlink(path.c_str());
    return fail(fmt::format("setting mode 0600 on {} failed: {}", path, errno_text(err)));
  }
  if (::listen(fd.get(), 16) != 0) {
    int err = errno;
    ::unlink(path.c_str());
    return fail(fmt::format("listening on {} failed: {}", path, errno_text(err)));
  }
  return UnixListener(std::move(fd), path, static_cast<uint64_t>(st.st_ino));
}

UnixListener::UnixListener(UnixListener&& other) noexcept
    : fd_(std::move(other.fd_)), path_(std::move(other.path_)), inode_(other.inode_) {
  other.path_.clear();
}

UnixListener::~UnixListener() {
  if (path_.empty() || !fd_.valid()) return;
  struct stat st {};
  if (::lstat(path_.c_str(), &st) == 0 && static_cast<uint64_t>(st.st_ino) == inode_) {
    ::unlink(path_.c_str());
  }
}

Result<std::optional<UniqueFd>> UnixListener::accept() {
  for (;;) {
    int fd = ::accept4(fd_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd >= 0) return std::optional<UniqueFd>(UniqueFd(fd));
    int err = errno;
    if (err == EINTR) continue;
    // A client that gave up before we accepted it is not our error.
    if (err == EAGAIN || err == EWOULDBLOCK || err == ECONNABORTED || err == EPROTO) {
      return std::optional<UniqueFd>();
    }
    return fail(fmt::format("accepting on {} failed: {}", path_, errno_text(err)));
  }
}

Result<UniqueFd> unix_connect(const std::string& path) {
  auto addr = make_address(path);
  if (!addr) return tl::unexpected(addr.error());
  UniqueFd fd;
  int err = try_connect(*addr, false, &fd);
  if (err == 0) return fd;
  switch (err) {
    case ENOENT:
      return fail(
          fmt::format("{} does not exist: is tern up running for {}?", path, interface_of(path)));
    case ECONNREFUSED:
      return fail(fmt::format("nobody answers on {} (a stale socket): is tern up running for {}?",
                              path, interface_of(path)));
    case EACCES:
    case EPERM:
      return fail(fmt::format("connecting to {} was refused ({}): run it with sudo", path,
                              errno_text(err)));
    default:
      return fail(fmt::format("connecting to {} failed: {}", path, errno_text(err)));
  }
}

Result<std::optional<size_t>> read_some(int fd, MutableBytes buf) {
  for (;;) {
    ssize_t n = ::recv(fd, buf.data(), buf.size(), MSG_DONTWAIT);
    if (n >= 0) return std::optional<size_t>(static_cast<size_t>(n));
    int err = errno;
    if (err == EINTR) continue;
    if (err == EAGAIN || err == EWOULDBLOCK) return std::optional<size_t>();
    if (err == ECONNRESET) return std::optional<size_t>(0);  // as good as EOF
    return fail("reading from a UAPI connection failed: " + errno_text(err));
  }
}

Result<size_t> write_some(int fd, Bytes data) {
  for (;;) {
    ssize_t n = ::send(fd, data.data(), data.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n >= 0) return static_cast<size_t>(n);
    int err = errno;
    if (err == EINTR) continue;
    if (err == EAGAIN || err == EWOULDBLOCK) return 0;
    if (err == EPIPE || err == ECONNRESET) {
      return fail("the UAPI client closed the connection before reading the answer");
    }
    return fail("writing to a UAPI connection failed: " + errno_text(err));
  }
}

}  // namespace tern::io

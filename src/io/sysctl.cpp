#include "io/sysctl.hpp"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>

#include <fmt/core.h>

#include "io/fd.hpp"
#include "io/sys_error.hpp"

namespace tern::io {
namespace {

std::string path_of(std::string_view name) {
  std::string path = "/proc/sys/" + std::string(name);
  std::replace(path.begin() + 10, path.end(), '.', '/');
  return path;
}

}  // namespace

Result<std::string> read_sysctl(std::string_view name) {
  const std::string path = path_of(name);
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) {
    int err = errno;
    return fail(fmt::format("reading {} ({}) failed: {}", name, path, errno_text(err)));
  }
  std::string value;
  char buf[256];
  for (;;) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      return fail(fmt::format("reading {} ({}) failed: {}", name, path, errno_text(err)));
    }
    if (n == 0) break;
    value.append(buf, static_cast<size_t>(n));
  }
  while (!value.empty() && value.back() == '\n')
    value.pop_back();
  return value;
}

Status write_sysctl(std::string_view name, std::string_view value) {
  const std::string path = path_of(name);
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
  ssize_t n = -1;
  if (fd) {
    do {
      n = ::write(fd.get(), value.data(), value.size());
    } while (n < 0 && errno == EINTR);
  }
  if (n < 0 || static_cast<size_t>(n) != value.size()) {
    int err = n < 0 ? errno : EIO;
    return fail(fmt::format("setting {} = {} ({}) failed: {}", name, value, path, errno_text(err)));
  }
  return {};
}

}  // namespace tern::io

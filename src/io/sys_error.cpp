#include "io/sys_error.hpp"

#include <string.h>

#include <fmt/core.h>

namespace tern::io {

std::string errno_text(int err) {
  const char* desc = ::strerrordesc_np(err);
  const char* name = ::strerrorname_np(err);
  if (desc == nullptr || name == nullptr) return fmt::format("unknown error {}", err);
  return fmt::format("{} ({})", desc, name);
}

}  // namespace tern::io

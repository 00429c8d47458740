#include "base/log.hpp"

#include <atomic>

namespace tern::log {
namespace {
std::atomic<Level> g_level{Level::kInfo};

const char* prefix(Level l) {
  switch (l) {
    case Level::kDebug:
      return "debug";
    case Level::kInfo:
      return "info";
    case Level::kWarn:
      return "warning";
    case Level::kError:
      return "error";
  }
  return "";
}
}  // namespace

Level level() {
  return g_level.load(std::memory_order_relaxed);
}
void set_level(Level l) {
  g_level.store(l, std::memory_order_relaxed);
}

void write(Level l, std::string_view message) {
  fmt::print(stderr, "tern: {}: {}\n", prefix(l), message);
}

}  // namespace tern::log

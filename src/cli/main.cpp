#include "cli/main.hpp"

#include <cstdio>

namespace tern::cli {
int run(int, char**) {
  std::fprintf(stderr, "tern: not built yet\n");
  return 1;
}
}  // namespace tern::cli

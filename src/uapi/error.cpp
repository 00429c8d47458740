#include "uapi/error.hpp"

namespace tern::uapi {

std::string format_errno(int errno_value) {
  return "errno=" + std::to_string(errno_value == 0 ? 0 : -errno_value) + "\n\n";
}

}  // namespace tern::uapi

// Turning errno into text for the error messages of io/: "Operation not permitted (EPERM)".
#pragma once

#include <string>

namespace tern::io {

std::string errno_text(int err);

}  // namespace tern::io

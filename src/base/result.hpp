// Result<T>: errors as values. Expected failures (bad input, a missing file,
// a refused syscall) return an Error whose message names the cause and the fix.
#pragma once

#include <string>
#include <utility>

#include <tl/expected.hpp>

namespace tern {

struct Error {
  std::string message;
};

template <class T>
using Result = tl::expected<T, Error>;

using Status = Result<void>;

[[nodiscard]] inline tl::unexpected<Error> fail(std::string message) {
  return tl::unexpected<Error>(Error{std::move(message)});
}

}  // namespace tern

// Failures of the WireGuard userspace API (https://www.wireguard.com/xplatform/).
// Each carries the errno the client gets back, with the values wireguard-go uses:
// EINVAL for a bad value or unknown key, EPROTO for a line that is not key=value.
#pragma once

#include <cerrno>
#include <string>

#include <tl/expected.hpp>

namespace tern::uapi {

struct UapiError {
  int errno_value = EINVAL;  // positive, as in errno.h
  std::string message;       // for the log; never sent to the client
};

template <class T>
using UapiResult = tl::expected<T, UapiError>;

[[nodiscard]] inline tl::unexpected<UapiError> uapi_fail(int errno_value, std::string message) {
  return tl::unexpected<UapiError>(UapiError{errno_value, std::move(message)});
}

// The reply that ends every operation: "errno=0\n\n" on success. A failure is
// sent negated ("errno=-22"), as wireguard-go does: `wg` negates it back into
// errno, so a positive value would print as "Unknown error -22".
std::string format_errno(int errno_value);

}  // namespace tern::uapi

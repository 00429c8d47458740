// The JSON bodies the control API accepts, checked before anything touches the store:
// what an agent sends to register, and what an admin sends to create a setup key.
// Every error names the field and what is wrong with it; nothing here trusts the input.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/ip.hpp"
#include "base/result.hpp"
#include "control/store.hpp"
#include "crypto/key.hpp"

namespace tern::control {

inline constexpr size_t kMaxEndpoints = 16;
inline constexpr size_t kMaxNameLength = 63;

struct RegisterRequest {
  std::string setup_key;
  PeerHello hello;
};

// {"setup_key": "tsk_...", "public_key": "<base64>", "name": "laptop",
//  "endpoints": ["192.0.2.1:51820"]}; name and endpoints are optional.
[[nodiscard]] Result<RegisterRequest> parse_register_request(std::string_view body);

// {"name": "ci", "reusable": true, "usage_limit": 10, "expires_in": 3600, "tags": ["ci"]};
// every field optional (a one-off key that never expires). `now_unix` turns expires_in
// into a time.
[[nodiscard]] Result<NewSetupKey> parse_key_request(std::string_view body, int64_t now_unix);

// A WireGuard public key in base64: 32 bytes, not a low-order point (X25519 with it
// would give an all-zero secret that anyone can compute).
[[nodiscard]] Result<crypto::Key> parse_public_key(std::string_view base64);

// 1-63 characters of letters, digits, '-', '_' and '.' (a host name, roughly).
[[nodiscard]] bool valid_name(std::string_view name);

}  // namespace tern::control

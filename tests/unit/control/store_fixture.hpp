// What the Store tests (store_test.cpp on both backends, sqlite_store_test.cpp) build their
// cases from: a registering peer with a fresh key, and a setup key request.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "control/store.hpp"
#include "crypto/x25519.hpp"

namespace tern::control::testing {

inline PeerHello hello() {
  PeerHello h;
  h.public_key = crypto::public_key_from_private(crypto::generate_private_key());
  h.name = "host";
  return h;
}

inline NewSetupKey new_key(std::string name, bool reusable, uint32_t limit,
                           std::optional<int64_t> expires = std::nullopt,
                           std::vector<std::string> tags = {}) {
  NewSetupKey k;
  k.name = std::move(name);
  k.reusable = reusable;
  k.usage_limit = limit;
  k.expires_unix = expires;
  k.tags = std::move(tags);
  return k;
}

}  // namespace tern::control::testing

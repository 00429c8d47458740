// `tern control serve`: starts the control server from its options. One TCP port, TLS by
// default (plain HTTP only with --dev-plain-http on loopback), the store in the data
// directory or a shared PostgreSQL database; the loop itself is cli/control_server.hpp.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/result.hpp"

namespace tern::cli {

struct ServeOptions {
  std::string listen = "127.0.0.1:8443";
  std::string data;
  std::string database;  // postgres://...; empty: SQLite in `data`
  bool dev_self_signed = false;
  bool dev_plain_http = false;
  std::string cert;
  std::string key;
  std::string v4_pool;              // empty: the default (or what the data directory holds)
  std::vector<std::string> relays;  // "turn:host:port"
  std::string relay_secret;
  std::string relay_ttl = "24h";
  std::string peer_expiry;  // empty: peers never expire
  size_t max_streams = 20'000;
};

// Runs until SIGINT/SIGTERM. The error names what failed at start.
[[nodiscard]] Status serve(const ServeOptions& options);

}  // namespace tern::cli

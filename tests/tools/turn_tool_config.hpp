// What the TURN test programs (turn_pair, turn_load) set up the same way: the credentials
// options (--user and --password, or --secret for REST credentials) and the client
// configuration for one allocation on the server.
#pragma once

#include <string>

#include "base/ip.hpp"
#include "core/turn_client.hpp"
#include "core/turn_credentials.hpp"
#include "io/clock.hpp"

namespace tern::tools {

struct TurnAuth {
  std::string user, password, secret;
  // Exactly one kind of credentials was given.
  bool valid() const { return secret.empty() != (user.empty() || password.empty()); }
  // Takes option `key` with its value when it is --user, --password or --secret.
  bool take(const std::string& key, const std::string& value) {
    std::string* field = key == "--user"       ? &user
                         : key == "--password" ? &password
                         : key == "--secret"   ? &secret
                                               : nullptr;
    if (field) *field = value;
    return field != nullptr;
  }
};

// An allocation over UDP on `server`, relayed in the server's family; with a secret, REST
// credentials for `rest_name` valid for an hour.
inline core::TurnConfig turn_tool_config(const Endpoint& server, const TurnAuth& auth,
                                         const std::string& rest_name, std::string software) {
  core::TurnConfig config;
  config.server_host = server.address.to_string();
  config.server_port = server.port;
  config.family = server.address.family();
  config.software = std::move(software);
  config.credentials = auth.secret.empty()
                           ? core::TurnCredentials{auth.user, auth.password}
                           : core::rest_credentials(auth.secret, rest_name,
                                                    io::wall_now().unix_ns / 1'000'000'000 + 3600);
  return config;
}

}  // namespace tern::tools

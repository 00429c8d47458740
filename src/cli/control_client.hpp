// The admin commands' way to the control API: one HTTPS (or, for a loopback dev server,
// HTTP) request per call, blocking with a deadline, on io/'s nonblocking TCP and TLS.
#pragma once

#include <string>

#include "base/result.hpp"

namespace tern::cli {

struct ApiTarget {
  std::string url;      // "https://host:port" (a path after it is ignored)
  std::string token;    // admin token
  std::string ca_file;  // trusted CA (e.g. DATA/ca.pem of a --dev-self-signed server)
};

struct ApiReply {
  int status = 0;
  std::string body;
};

[[nodiscard]] Result<ApiReply> api_call(const ApiTarget& target, const std::string& method,
                                        const std::string& path, const std::string& body);

}  // namespace tern::cli

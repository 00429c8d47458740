// `tern control serve --dev-self-signed`: a certificate for trials, made once and kept in
// the data directory. The certificate is its own CA: agents and admin commands trust it
// with `--ca DIR/ca.pem`. EC P-256, valid for a year, with the listen address and
// "localhost" as subjectAltNames. OpenSSL 3 makes and signs it.
#pragma once

#include <string>
#include <vector>

#include "base/result.hpp"

namespace tern::control {

struct SelfSignedFiles {
  std::string cert;  // DIR/ca.pem
  std::string key;   // DIR/server.key, mode 0600
  bool created = false;
};

// Reuses DIR/ca.pem and DIR/server.key when both exist; otherwise makes them for `names`
// (IP addresses and DNS names).
[[nodiscard]] Result<SelfSignedFiles> ensure_self_signed(const std::string& dir,
                                                         const std::vector<std::string>& names);

}  // namespace tern::control

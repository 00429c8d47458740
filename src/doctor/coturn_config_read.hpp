// The files behind `--coturn-config` and `--netbird-config`: the config text itself (bounded)
// and the TLS certificate coturn's cert= names, reduced to what the lint needs.
#pragma once

#include <string>

#include "base/result.hpp"
#include "doctor/coturn_config_lint.hpp"

namespace tern::doctor {

// The whole file, failing (with the path and the cause) beyond `max_bytes`.
[[nodiscard]] Result<std::string> read_text_file(const std::string& path, size_t max_bytes);

// The first certificate in the PEM file `path` (coturn's cert=, often a fullchain).
[[nodiscard]] CertificateFile read_certificate_file(const std::string& path);

}  // namespace tern::doctor

// `tern doctor nat`'s I/O: binds the sockets the two state machines ask for (behaviour
// discovery and the lifetime search), runs both at once in one poll loop until both are done
// or the time bound passes, and hands back the report.
#pragma once

#include <string>
#include <vector>

#include "base/result.hpp"
#include "doctor/nat_report.hpp"
#include "doctor/relay_check.hpp"

namespace tern::doctor {

struct NatCheckOptions {
  std::vector<std::string> servers;  // stun:HOST[:PORT] URLs; the first is the primary
  bool quick = false;                // skip the lifetime search
  Duration lifetime_max = std::chrono::seconds(120);
  size_t lifetime_sockets = 12;
  unsigned keepalive_in_use = 25;
};

[[nodiscard]] Result<NatReport> check_nat(const NatCheckOptions& options, const Progress& progress);

// The first address of HOST (IPv4 first); numeric hosts are not looked up.
[[nodiscard]] Result<Endpoint> resolve_server(const std::string& host, uint16_t port);

}  // namespace tern::doctor

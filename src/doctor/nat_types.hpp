// What `tern doctor nat` finds out about the NAT in front of this machine (RFC 5780 §4):
// the mapping and filtering behaviour, hairpinning, whether the port is preserved, and how
// long an idle UDP mapping lives. The names are the JSON values (docs/doctor-nat.md).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/ip.hpp"
#include "base/time.hpp"

namespace tern::doctor {

enum class Mapping : uint8_t {
  kUnknown,
  kNoNat,  // the mapped address is the socket's own
  kEndpointIndependent,
  kAddressDependent,
  kAddressAndPortDependent,
  kDependent,  // two plain servers saw two mappings: not endpoint-independent, which kind unknown
};
enum class Filtering : uint8_t {
  kUnknown,
  kEndpointIndependent,
  kAddressDependent,
  kAddressAndPortDependent,
};

std::string_view mapping_name(Mapping m);      // "endpoint-independent", ..., "unknown"
std::string_view filtering_name(Filtering f);  // the same words
// A mapping that changes with the destination: peers cannot reach us directly.
inline bool is_symmetric(Mapping m) {
  return m == Mapping::kAddressDependent || m == Mapping::kAddressAndPortDependent ||
         m == Mapping::kDependent;
}

struct NatDiscoveryResult {
  std::optional<Endpoint> server;
  std::optional<Endpoint> other_address;  // the server's second address (OTHER-ADDRESS)
  std::optional<Endpoint> local;          // the first socket's own address
  std::optional<Endpoint> mapped;         // and its mapping as the server saw it
  Mapping mapping = Mapping::kUnknown;
  std::string mapping_detail;  // how it was told, or why it could not be
  Filtering filtering = Filtering::kUnknown;
  std::string filtering_detail;
  std::optional<bool> hairpinning;
  std::optional<bool> port_preserved;
  std::string error;  // set when the server never answered usefully: nothing else is known
  // What a hostile or broken server did; each line is also a finding.
  unsigned malformed_answers = 0;
  unsigned wrong_source_answers = 0;
  std::vector<std::string> server_faults;
};

enum class IntervalOutcome : uint8_t {
  kPending,
  kAlive,      // the answer sent to the idle mapping arrived
  kExpired,    // it did not: the NAT had forgotten the mapping
  kNoMapping,  // the idle socket never got its mapping: this interval tells nothing
};

struct LifetimeInterval {
  Duration idle{};
  IntervalOutcome outcome = IntervalOutcome::kPending;
};

struct LifetimeResult {
  std::vector<LifetimeInterval> intervals;
  std::optional<Duration> alive_max;  // the longest idle time a mapping survived
  std::optional<Duration> dead_min;   // the shortest one it did not
  std::string error;                  // the search could not run (with the reason)
};

// The keepalive interval that refreshes a mapping of this lifetime with margin: two thirds
// of the longest idle time it survived, in whole seconds (15 s -> 10 s). nullopt when the
// search found no mapping alive.
[[nodiscard]] std::optional<unsigned> keepalive_for(const LifetimeResult& r);

}  // namespace tern::doctor

// One findings model for `tern doctor` run alone: every check's own findings (wg, nat, mtu,
// relay, routes) become Findings with the check's stable code, a severity, the subject they
// are about and one sentence with the cause and the fix, ordered most likely cause first
// (docs/doctor.md says the order and why). Pure functions: the checks run elsewhere.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace tern::doctor {

enum class Severity : uint8_t {
  kError,    // packets are lost now
  kWarning,  // packets go a worse way (through a relay), or will be lost (a certificate ends)
};
std::string_view severity_name(Severity s);  // "error", "warning"

enum class SubjectKind : uint8_t { kInterface, kPeer, kRelay, kHost, kRoute };
std::string_view subject_kind_name(SubjectKind k);  // "interface", "peer", "relay", ...

struct Subject {
  SubjectKind kind = SubjectKind::kHost;
  std::string name;       // the interface, the peer's public key, the relay URL, "this host"
  std::string interface;  // a peer's interface; empty otherwise

  bool operator==(const Subject&) const = default;
};

struct Finding {
  std::string code;  // stable: the check's own code (docs/doctor.md lists every one)
  Severity severity = Severity::kError;
  Subject subject;
  std::string message;  // the cause and the fix, one sentence
  std::string check;    // which check found it: "wg", "nat", "mtu", "relay", "routes"
};

// Where a code goes in the report: lower first. Unknown codes of a known check go after that
// check's known ones; codes of an unknown check go last.
[[nodiscard]] int cause_rank(std::string_view code, std::string_view check);

// Most likely cause first: by rank, then errors before warnings, then by subject. Stable.
void order_findings(std::vector<Finding>& findings);

[[nodiscard]] nlohmann::json to_json(const Finding& f);
// "error  peer abc... on wg0: [code] message"
[[nodiscard]] std::string render_line(const Finding& f);

}  // namespace tern::doctor

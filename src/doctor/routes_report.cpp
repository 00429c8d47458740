// `tern doctor routes`' report: the human text and the JSON (docs/doctor-routes.md).
#include <fmt/format.h>

#include "doctor/routes_check.hpp"

namespace tern::doctor {

std::string render_routes_human(const RoutesReport& report) {
  std::string s;
  if (!report.error.empty()) s += "routes: " + report.error + "\n";
  for (const auto& i : report.interfaces) {
    if (!i.error.empty()) {
      s += fmt::format("{}: cannot be read: {}\n", i.name, i.error);
      continue;
    }
    s += fmt::format("{}: listen port {}", i.name, i.listen_port);
    if (i.fwmark != 0) s += fmt::format(", fwmark {:#x}", i.fwmark);
    std::vector<std::string> prefixes;
    for (const auto& p : i.overlay)
      prefixes.push_back(p.to_string());
    s += fmt::format(", overlay {}\n", prefixes.empty()
                                           ? std::string("(none)")
                                           : fmt::format("{}", fmt::join(prefixes, " ")));
    if (i.findings.empty()) s += "  ok: no overlap, no stolen route, no loop, nothing dropped\n";
    for (const auto& f : i.findings)
      s += fmt::format("  {}: {}\n", f.code, f.message);
  }
  for (const auto& n : report.notes)
    s += "note: " + n + "\n";
  return s;
}

nlohmann::json routes_to_json(const RoutesReport& report) {
  nlohmann::json j;
  j["version"] = 1;
  j["findings"] = has_findings(report);
  j["error"] = report.error.empty() ? nlohmann::json() : nlohmann::json(report.error);
  j["notes"] = report.notes;
  j["interfaces"] = nlohmann::json::array();
  for (const auto& i : report.interfaces) {
    nlohmann::json ji;
    ji["interface"] = i.name;
    ji["listen_port"] = i.listen_port;
    ji["fwmark"] = i.fwmark;
    ji["overlay"] = nlohmann::json::array();
    for (const auto& p : i.overlay)
      ji["overlay"].push_back(p.to_string());
    ji["error"] = i.error.empty() ? nlohmann::json() : nlohmann::json(i.error);
    ji["findings"] = nlohmann::json::array();
    for (const auto& f : i.findings) {
      ji["findings"].push_back({{"code", f.code}, {"message", f.message}, {"objects", f.objects}});
    }
    j["interfaces"].push_back(std::move(ji));
  }
  return j;
}

}  // namespace tern::doctor

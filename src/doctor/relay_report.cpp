#include "doctor/relay_report.hpp"

#include <cmath>
#include <ctime>

#include <fmt/format.h>

namespace tern::doctor {
namespace {

struct NamedCheck {
  std::string_view name;   // JSON key
  std::string_view label;  // human label
  const Check* check;
};

std::vector<NamedCheck> checks_of(const RelayUrlResult& r) {
  return {{"resolve", "resolve", &r.resolve},
          {"reachability", "reachability", &r.reachability},
          {"tls", "tls", &r.tls},
          {"authentication", "authentication", &r.authentication},
          {"allocation", "allocation", &r.allocation},
          {"round_trip", "round trip", &r.round_trip},
          {"largest_packet", "largest packet", &r.largest_packet}};
}

double ms(Duration d) {
  return static_cast<double>(d.count()) / 1e6;
}
double seconds(Duration d) {
  return static_cast<double>(d.count()) / 1e9;
}
// Rounded to microseconds, so JSON numbers stay short.
double ms_json(Duration d) {
  return std::round(ms(d) * 1000.0) / 1000.0;
}

std::string_view mark(CheckStatus s) {
  switch (s) {
    case CheckStatus::kPass:
      return "ok  ";
    case CheckStatus::kWarn:
      return "WARN";
    case CheckStatus::kFail:
      return "FAIL";
    case CheckStatus::kSkipped:
      return " -  ";
  }
  return " -  ";
}

}  // namespace

std::string utc_text(int64_t unix_seconds) {
  std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

namespace {

nlohmann::json endpoint_json(const std::optional<Endpoint>& e) {
  return e ? nlohmann::json(e->to_string()) : nlohmann::json(nullptr);
}
nlohmann::json seconds_json(const std::optional<Duration>& d) {
  return d ? nlohmann::json(std::llround(seconds(*d))) : nlohmann::json(nullptr);
}

nlohmann::json tls_json(const std::optional<TlsReport>& t) {
  if (!t) return nullptr;
  nlohmann::json j = {
      {"protocol", t->protocol},
      {"cipher", t->cipher},
      {"handshake_ms", t->handshake_time ? nlohmann::json(ms_json(*t->handshake_time)) : nullptr},
      {"certificate", nullptr}};
  if (t->has_certificate) {
    j["certificate"] = {{"subject", t->subject},
                        {"issuer", t->issuer},
                        {"names", t->names},
                        {"not_before", utc_text(t->not_before_unix)},
                        {"not_after", utc_text(t->not_after_unix)},
                        {"not_after_unix", t->not_after_unix},
                        {"trusted", t->trusted},
                        {"verify_error", t->verify_error},
                        {"name_matches", t->name_matches},
                        {"self_signed", t->self_signed}};
  }
  return j;
}

}  // namespace

std::string_view check_status_name(CheckStatus s) {
  switch (s) {
    case CheckStatus::kPass:
      return "pass";
    case CheckStatus::kWarn:
      return "warn";
    case CheckStatus::kFail:
      return "fail";
    case CheckStatus::kSkipped:
      return "skipped";
  }
  return "skipped";
}

bool RelayUrlResult::passed() const {
  for (const auto& c : checks_of(*this)) {
    if (c.check->status == CheckStatus::kFail) return false;
  }
  return true;
}

std::string render_human(const std::vector<RelayUrlResult>& results) {
  return render_human(results, {});
}

std::string render_human(const std::vector<RelayUrlResult>& results,
                         const std::vector<RelayFinding>& config_findings) {
  std::string out;
  if (!config_findings.empty()) {
    out += "configuration\n";
    for (const auto& f : config_findings) {
      out += fmt::format("  {} [{}] {}\n", f.warning ? "WARN" : "FAIL", f.code, f.message);
    }
    out += "\n";
  }
  size_t passed = 0;
  for (const auto& r : results) {
    if (r.passed()) ++passed;
    out += fmt::format("{} ({}){}\n", r.url, r.transport,
                       r.server ? " -> " + r.server->to_string() : "");
    for (const auto& c : checks_of(r)) {
      if (c.check->status == CheckStatus::kSkipped && c.check->detail.empty()) continue;
      out += fmt::format("  {} {:<15} {}\n", mark(c.check->status), c.label, c.check->detail);
      if (!c.check->fix.empty()) out += fmt::format("       {:<15} fix: {}\n", "", c.check->fix);
    }
    if (r.allocation_lifetime || r.permission_lifetime || r.channel_lifetime) {
      auto s = [](const std::optional<Duration>& d) {
        return d ? fmt::format("{} s", std::llround(seconds(*d))) : std::string("-");
      };
      out += fmt::format("       {:<15} allocation {}, permission {}, channel {}\n", "lifetimes",
                         s(r.allocation_lifetime), s(r.permission_lifetime), s(r.channel_lifetime));
    }
    if (!r.rate_steps.empty()) {
      std::string steps;
      for (const auto& s : r.rate_steps) {
        if (!steps.empty()) steps += ", ";
        steps += fmt::format("{}/s {:.1f} %", s.rate_per_second, s.loss_percent());
      }
      out += fmt::format("       {:<15} loss by rate: {}\n", "rates", steps);
    }
    for (const auto& f : r.findings) {
      out += fmt::format("  {} [{}] {}\n", f.warning ? "WARN" : "FAIL", f.code, f.message);
    }
    out += fmt::format("  => {}\n\n", r.passed() ? "PASS" : "FAIL");
  }
  out += fmt::format("{} of {} relay URL{} passed\n", passed, results.size(),
                     results.size() == 1 ? "" : "s");
  return out;
}

nlohmann::json to_json(const RelayFinding& f) {
  return {{"code", f.code}, {"severity", f.warning ? "warning" : "error"}, {"message", f.message}};
}

nlohmann::json to_json(const std::vector<RelayUrlResult>& results,
                       const std::vector<RelayFinding>& config_findings) {
  nlohmann::json urls = nlohmann::json::array();
  bool all = true;
  for (const auto& r : results) {
    all = all && r.passed();
    nlohmann::json checks = nlohmann::json::object();
    for (const auto& c : checks_of(r)) {
      checks[std::string(c.name)] = {{"status", check_status_name(c.check->status)},
                                     {"detail", c.check->detail},
                                     {"fix", c.check->fix}};
    }
    nlohmann::json u = {
        {"url", r.url},
        {"transport", r.transport},
        {"server", endpoint_json(r.server)},
        {"passed", r.passed()},
        {"error_kind",
         r.error_kind.empty() ? nlohmann::json(nullptr) : nlohmann::json(r.error_kind)},
        {"checks", checks},
        {"connect_ms", r.connect_time ? nlohmann::json(ms_json(*r.connect_time)) : nullptr},
        {"tls", tls_json(r.tls_facts)},
        {"binding_rtt_ms", r.binding_rtt ? nlohmann::json(ms_json(*r.binding_rtt)) : nullptr},
        {"mapped_address", endpoint_json(r.mapped)},
        {"relayed_address", endpoint_json(r.relayed)},
        {"peer_address", endpoint_json(r.peer)},
        {"lifetimes_s",
         {{"allocation", seconds_json(r.allocation_lifetime)},
          {"permission", seconds_json(r.permission_lifetime)},
          {"channel", seconds_json(r.channel_lifetime)}}},
        {"round_trip", nullptr},
        {"largest_packet", nullptr},
    };
    if (const auto& t = r.round_trip_figures) {
      const auto& s = t->stats;
      u["round_trip"] = {
          {"sent", s.sent},
          {"received", s.received},
          {"loss_percent", std::round(s.loss_percent() * 100.0) / 100.0},
          {"rtt_ms", {{"min", ms_json(s.min)}, {"avg", ms_json(s.avg)}, {"max", ms_json(s.max)}}},
          {"jitter_ms", ms_json(s.jitter)},
          {"rate_per_s", t->rate_per_second},
          {"payload_bytes", t->payload_size},
          {"duration_s", seconds(t->duration)},
          {"via_channel", t->via_channel}};
    }
    nlohmann::json findings = nlohmann::json::array();
    for (const auto& f : r.findings)
      findings.push_back(to_json(f));
    u["findings"] = findings;
    nlohmann::json steps = nlohmann::json::array();
    for (const auto& s : r.rate_steps) {
      steps.push_back({{"rate_per_s", s.rate_per_second},
                       {"sent", s.sent},
                       {"received", s.received},
                       {"loss_percent", std::round(s.loss_percent() * 100.0) / 100.0}});
    }
    u["rate_steps"] = steps;
    u["peer_delivered"] =
        r.peer_delivered ? nlohmann::json(*r.peer_delivered) : nlohmann::json(nullptr);
    u["rest"] = nullptr;
    if (const auto& rest = r.rest) {
      auto opt = [](const std::optional<bool>& b) {
        return b ? nlohmann::json(*b) : nlohmann::json(nullptr);
      };
      u["rest"] = {{"expiry", utc_text(rest->expiry_unix)},
                   {"expiry_unix", rest->expiry_unix},
                   {"local_unix", rest->local_unix},
                   {"made_here", rest->made_here},
                   {"accepted", rest->accepted},
                   {"far_future_accepted", opt(rest->far_future_accepted)},
                   {"recently_expired_accepted", opt(rest->recently_expired_accepted)}};
    }
    if (const auto& l = r.largest) {
      u["largest_packet"] = {{"payload_bytes", l->payload_bytes},
                             {"dont_fragment", l->dont_fragment},
                             {"search_limit", l->search_limit}};
    }
    urls.push_back(std::move(u));
  }
  nlohmann::json config = nlohmann::json::array();
  size_t count = config_findings.size();
  for (const auto& f : config_findings)
    config.push_back(to_json(f));
  for (const auto& r : results)
    count += r.findings.size();
  return {{"version", 1},
          {"passed", all},
          {"findings_count", count},
          {"urls", urls},
          {"config_findings", config}};
}

}  // namespace tern::doctor

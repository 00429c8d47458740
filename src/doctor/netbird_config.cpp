#include "doctor/netbird_config.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace tern::doctor {
namespace {

using nlohmann::json;

std::string text_of(const json& object, const char* key) {
  auto it = object.find(key);
  if (it == object.end() || !it->is_string()) return {};
  return it->get<std::string>();
}

bool hosts_of(const json& parent, const char* key, std::vector<NetbirdHost>& out) {
  auto it = parent.find(key);
  if (it == parent.end() || it->is_null()) return true;
  if (!it->is_array()) return false;
  for (const auto& h : *it) {
    if (!h.is_object()) return false;
    if (out.size() >= kNetbirdMaxHosts) return false;
    out.push_back(
        {text_of(h, "Proto"), text_of(h, "URI"), text_of(h, "Username"), text_of(h, "Password")});
  }
  return true;
}

}  // namespace

std::optional<Duration> parse_go_duration(std::string_view text) {
  if (text.empty() || text.size() > 32) return std::nullopt;
  int64_t total_ms = 0;
  size_t i = 0;
  while (i < text.size()) {
    int64_t n = 0;
    size_t digits = 0;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9' && digits < 9) {
      n = n * 10 + (text[i] - '0');
      ++i;
      ++digits;
    }
    if (digits == 0 || i >= text.size()) return std::nullopt;
    int64_t unit_ms = 0;
    if (text.substr(i).starts_with("ms")) {
      unit_ms = 1;
      i += 2;
    } else if (text[i] == 'h') {
      unit_ms = 3'600'000;
      ++i;
    } else if (text[i] == 'm') {
      unit_ms = 60'000;
      ++i;
    } else if (text[i] == 's') {
      unit_ms = 1000;
      ++i;
    } else {
      return std::nullopt;
    }
    total_ms += n * unit_ms;
  }
  return std::chrono::milliseconds(total_ms);
}

Result<NetbirdConfig> parse_netbird_config(std::string_view text) {
  if (text.size() > kNetbirdConfigMaxBytes) {
    return fail(fmt::format("the file is larger than {} bytes", kNetbirdConfigMaxBytes));
  }
  const json doc = json::parse(text.begin(), text.end(), nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) return fail("the file is not a JSON object");
  NetbirdConfig c;
  auto turn = doc.find("TURNConfig");
  const bool has_turn = turn != doc.end() && turn->is_object();
  if (!doc.contains("Stuns") && !has_turn) {
    return fail("neither Stuns nor TURNConfig: not a NetBird management.json");
  }
  if (!hosts_of(doc, "Stuns", c.stuns)) return fail("Stuns is not a list of {Proto, URI, ...}");
  if (has_turn) {
    if (!hosts_of(*turn, "Turns", c.turns)) {
      return fail("TURNConfig.Turns is not a list of {Proto, URI, Username, Password}");
    }
    c.secret = text_of(*turn, "Secret");
    if (auto tb = turn->find("TimeBasedCredentials"); tb != turn->end() && tb->is_boolean()) {
      c.time_based = tb->get<bool>();
    }
    const auto ttl = text_of(*turn, "CredentialsTTL");
    if (!ttl.empty()) c.credentials_ttl = parse_go_duration(ttl);
  }
  return c;
}

NetbirdPlan plan_netbird_checks(const NetbirdConfig& config) {
  NetbirdPlan plan;
  auto url_of = [&](const NetbirdHost& h, const char* where) -> std::optional<TurnUrl> {
    std::string text = h.uri;
    // NetBird keeps the transport in Proto; the URI usually has none.
    if (text.find('?') == std::string::npos && (h.proto == "tcp" || h.proto == "udp") &&
        (text.starts_with("turn:") || text.starts_with("turns:"))) {
      text += "?transport=" + h.proto;
    }
    auto url = parse_turn_url(text);
    if (!url) {
      plan.findings.push_back({"netbird_url_invalid",
                               fmt::format("{} URI \"{}\" cannot be used: {}; peers skip it", where,
                                           h.uri, url.error().message),
                               false});
      return std::nullopt;
    }
    return *url;
  };
  for (const auto& h : config.stuns) {
    auto url = url_of(h, "Stuns");
    if (!url) continue;
    if (url->is_turn()) {  // no credentials go with a Stuns entry: it could not be checked
      plan.findings.push_back({"netbird_url_invalid",
                               fmt::format("Stuns URI \"{}\" is a TURN URL: Stuns lists STUN "
                                           "servers (stun:HOST:PORT); move it to "
                                           "TURNConfig.Turns or write it as stun:",
                                           h.uri),
                               false});
      continue;
    }
    plan.targets.push_back({*url, std::nullopt, {}, {}});
  }
  if (config.turns.empty()) {
    plan.findings.push_back({"netbird_turn_missing",
                             "TURNConfig.Turns is empty: peers behind symmetric NAT have no "
                             "relay (unless NetBird's own relay service is set up); add the "
                             "coturn URL",
                             true});
  }
  if (config.time_based && config.secret.empty()) {
    plan.findings.push_back({"netbird_secret_missing",
                             "TURNConfig.TimeBasedCredentials is true but Secret is empty: "
                             "every credential peers get is refused; set Secret to coturn's "
                             "static-auth-secret",
                             false});
  }
  for (const auto& h : config.turns) {
    auto url = url_of(h, "TURNConfig.Turns");
    if (!url) continue;
    NetbirdTarget t{*url, std::nullopt, {}, {}};
    if (config.time_based) {
      if (config.secret.empty()) continue;
      t.secret = config.secret;
      t.rest_ttl = config.credentials_ttl;
    } else if (h.username.empty() || h.password.empty()) {
      plan.findings.push_back({"netbird_credentials_missing",
                               fmt::format("{} has no Username/Password and "
                                           "TimeBasedCredentials is false: peers cannot "
                                           "authenticate to it",
                                           h.uri),
                               false});
      continue;
    } else {
      t.credentials = core::TurnCredentials{h.username, h.password};
    }
    plan.targets.push_back(std::move(t));
  }
  return plan;
}

}  // namespace tern::doctor

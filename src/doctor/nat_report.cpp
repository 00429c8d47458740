#include "doctor/nat_report.hpp"

#include <fmt/format.h>

namespace tern::doctor {
namespace {

int64_t secs(Duration d) {
  return std::chrono::duration_cast<std::chrono::seconds>(d).count();
}

std::string yes_no(const std::optional<bool>& b) {
  if (!b) return "not told";
  return *b ? "yes" : "no";
}

std::string lifetime_text(const LifetimeResult& l) {
  if (!l.error.empty()) return "not measured: " + l.error;
  if (l.alive_max && l.dead_min && *l.dead_min > *l.alive_max) {
    return fmt::format("between {} and {} s", secs(*l.alive_max), secs(*l.dead_min));
  }
  if (l.alive_max && !l.dead_min) {
    return fmt::format("at least {} s (the longest interval tested)", secs(*l.alive_max));
  }
  if (l.dead_min && !l.alive_max) {
    return fmt::format("less than {} s (the shortest interval tested)", secs(*l.dead_min));
  }
  if (l.alive_max && l.dead_min) {
    return fmt::format("inconsistent: survived {} s, lost at {} s (a NAT with several timers?)",
                       secs(*l.alive_max), secs(*l.dead_min));
  }
  return "not measured: no interval was decided";
}

}  // namespace

std::string_view mapping_name(Mapping m) {
  switch (m) {
    case Mapping::kUnknown:
      return "unknown";
    case Mapping::kNoNat:
      return "no-nat";
    case Mapping::kEndpointIndependent:
      return "endpoint-independent";
    case Mapping::kAddressDependent:
      return "address-dependent";
    case Mapping::kAddressAndPortDependent:
      return "address-and-port-dependent";
    case Mapping::kDependent:
      return "destination-dependent";
  }
  return "unknown";
}

std::string_view filtering_name(Filtering f) {
  switch (f) {
    case Filtering::kUnknown:
      return "unknown";
    case Filtering::kEndpointIndependent:
      return "endpoint-independent";
    case Filtering::kAddressDependent:
      return "address-dependent";
    case Filtering::kAddressAndPortDependent:
      return "address-and-port-dependent";
  }
  return "unknown";
}

std::vector<NatFinding> nat_findings(const NatReport& r) {
  std::vector<NatFinding> out;
  const auto& d = r.discovery;
  if (!d.error.empty()) {
    if (d.server_faults.empty()) {
      out.push_back({"stun_unreachable",
                     d.error + ": check the address and that UDP to it is not firewalled"});
      return out;
    }
    // It did answer, just not usably: blaming a firewall would send the operator the wrong way.
    std::string faults;
    for (const auto& f : d.server_faults)
      faults += (faults.empty() ? "" : "; ") + f;
    out.push_back({"stun_server_fault",
                   fmt::format("{}, although the server answered ({}; {} malformed, {} from a "
                               "wrong address): it is broken or misconfigured, not firewalled: "
                               "fix it or use another STUN server",
                               d.error, faults, d.malformed_answers, d.wrong_source_answers)});
    return out;
  }
  // One line per server (NatDiscovery::note_fault), its malformed answers counted in it.
  for (const auto& fault : d.server_faults) {
    out.push_back({"stun_server_fault", fault + ": the verdicts that need it are not told"});
  }
  if (is_symmetric(d.mapping)) {
    out.push_back(
        {"nat_symmetric",
         fmt::format("this NAT maps each destination to a new public port ({} mapping), so peers "
                     "cannot reach this machine directly and traffic goes through the relay: "
                     "make the router's UDP NAT endpoint-independent (no random ports), or "
                     "forward the WireGuard port to this machine",
                     mapping_name(d.mapping))});
  }
  if (r.lifetime && r.lifetime->error.empty()) {
    auto k = keepalive_for(*r.lifetime);
    const auto& l = *r.lifetime;
    if (!k && l.dead_min) {
      out.push_back({"nat_short_lifetime",
                     fmt::format("this NAT forgets idle UDP mappings in less than {} s: set "
                                 "PersistentKeepalive below that, or test shorter intervals",
                                 secs(*l.dead_min))});
    } else if (k && *k < r.keepalive_in_use) {
      const int64_t about =
          l.dead_min ? (secs(*l.alive_max) + secs(*l.dead_min)) / 2 : secs(*l.alive_max);
      out.push_back({"nat_short_lifetime",
                     fmt::format("keepalive {} s but this NAT forgets mappings after ~{} s: set "
                                 "PersistentKeepalive = {}",
                                 r.keepalive_in_use, about, *k)});
    }
  }
  return out;
}

std::string render_nat_human(const NatReport& r) {
  const auto& d = r.discovery;
  std::string s;
  s += fmt::format("STUN server      {}", d.server ? d.server->to_string() : "-");
  if (d.other_address) s += fmt::format(" (other address {})", d.other_address->to_string());
  s += "\n";
  if (d.error.empty()) {
    s += fmt::format("mapped address   {}", d.mapped ? d.mapped->to_string() : "-");
    if (d.local) s += fmt::format(" (local {})", d.local->to_string());
    s += "\n";
    s += fmt::format("mapping          {}: {}\n", mapping_name(d.mapping), d.mapping_detail);
    s += fmt::format("filtering        {}: {}\n", filtering_name(d.filtering), d.filtering_detail);
    s += fmt::format("hairpinning      {}\n", yes_no(d.hairpinning));
    s += fmt::format("port preserved   {}\n", yes_no(d.port_preserved));
  }
  if (r.lifetime) {
    s += fmt::format("mapping lifetime {}", lifetime_text(*r.lifetime));
    if (auto k = keepalive_for(*r.lifetime))
      s += fmt::format(" (keepalive that holds it: {} s)", *k);
    s += "\n";
  } else {
    s += "mapping lifetime not measured (--quick)\n";
  }
  const auto findings = nat_findings(r);
  if (findings.empty()) {
    s += "\nnothing wrong found\n";
  } else {
    s += "\nfindings:\n";
    for (const auto& f : findings)
      s += fmt::format("  [{}] {}\n", f.code, f.message);
  }
  return s;
}

nlohmann::json nat_to_json(const NatReport& r) {
  const auto& d = r.discovery;
  auto ep = [](const std::optional<Endpoint>& e) {
    return e ? nlohmann::json(e->to_string()) : nlohmann::json(nullptr);
  };
  auto opt_bool = [](const std::optional<bool>& b) {
    return b ? nlohmann::json(*b) : nlohmann::json(nullptr);
  };
  nlohmann::json j;
  j["server"] = ep(d.server);
  j["other_address"] = ep(d.other_address);
  j["local"] = ep(d.local);
  j["mapped"] = ep(d.mapped);
  j["mapping"] = mapping_name(d.mapping);
  j["mapping_detail"] = d.mapping_detail;
  j["filtering"] = filtering_name(d.filtering);
  j["filtering_detail"] = d.filtering_detail;
  j["hairpinning"] = opt_bool(d.hairpinning);
  j["port_preserved"] = opt_bool(d.port_preserved);
  j["error"] = d.error.empty() ? nlohmann::json(nullptr) : nlohmann::json(d.error);
  if (r.lifetime) {
    const auto& l = *r.lifetime;
    nlohmann::json lj;
    lj["alive_max_s"] = l.alive_max ? nlohmann::json(secs(*l.alive_max)) : nlohmann::json(nullptr);
    lj["dead_min_s"] = l.dead_min ? nlohmann::json(secs(*l.dead_min)) : nlohmann::json(nullptr);
    auto k = keepalive_for(l);
    lj["keepalive_s"] = k ? nlohmann::json(*k) : nlohmann::json(nullptr);
    lj["error"] = l.error.empty() ? nlohmann::json(nullptr) : nlohmann::json(l.error);
    nlohmann::json iv = nlohmann::json::array();
    for (const auto& i : l.intervals) {
      std::string_view o = i.outcome == IntervalOutcome::kAlive     ? "alive"
                           : i.outcome == IntervalOutcome::kExpired ? "expired"
                           : i.outcome == IntervalOutcome::kPending ? "pending"
                                                                    : "no-mapping";
      iv.push_back({{"idle_s", secs(i.idle)}, {"outcome", o}});
    }
    lj["intervals"] = iv;
    j["lifetime"] = lj;
  } else {
    j["lifetime"] = nullptr;
  }
  nlohmann::json f = nlohmann::json::array();
  for (const auto& x : nat_findings(r))
    f.push_back({{"code", x.code}, {"message", x.message}});
  j["findings"] = f;
  return j;
}

}  // namespace tern::doctor

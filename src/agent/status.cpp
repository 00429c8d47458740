#include "agent/status.hpp"

#include <nlohmann/json.hpp>

#include <fmt/format.h>

namespace tern::agent {
namespace {

nlohmann::json drops_json(const DropCounters& d) {
  nlohmann::json j = nlohmann::json::object();
  for (size_t i = 0; i < kDropReasonCount; ++i) {
    j[std::string(drop_reason_name(static_cast<DropReason>(i)))] = d.counts[i];
  }
  return j;
}

DropCounters drops_from_json(const nlohmann::json& j) {
  DropCounters d;
  for (size_t i = 0; i < kDropReasonCount; ++i) {
    auto name = std::string(drop_reason_name(static_cast<DropReason>(i)));
    if (j.contains(name)) d.counts[i] = j.at(name).get<uint64_t>();
  }
  return d;
}

void traffic_to_json(nlohmann::json& j, const TrafficCounters& t) {
  j["rx_bytes"] = t.rx_bytes;
  j["tx_bytes"] = t.tx_bytes;
  j["rx_packets"] = t.rx_packets;
  j["tx_packets"] = t.tx_packets;
}

TrafficCounters traffic_from_json(const nlohmann::json& j) {
  return {j.at("rx_bytes").get<uint64_t>(), j.at("tx_bytes").get<uint64_t>(),
          j.at("rx_packets").get<uint64_t>(), j.at("tx_packets").get<uint64_t>()};
}

void mtu_to_json(nlohmann::json& j, const PeerMtuStatus& m) {
  if (!m.known) return;
  j["path_mtu"] = m.path_mtu ? nlohmann::json(*m.path_mtu) : nlohmann::json();
  j["overlay_mtu"] = m.overlay_mtu;
  j["pmtud_state"] = m.pmtud_state;
  j["peer_runs_tern"] = m.peer_runs_tern ? nlohmann::json(*m.peer_runs_tern) : nlohmann::json();
  j["announced_mtu"] = m.announced_mtu;
  j["probes"] = {{"pings_sent", m.pings_sent}, {"pongs_received", m.pongs_received}};
  j["ptb_sent"] = m.ptb_sent;
  j["fragments_made"] = m.fragments_made;
  j["mss_clamped"] = m.mss_clamped;
}

// Tolerates an agent that reports none of it (older than issue 4).
PeerMtuStatus mtu_from_json(const nlohmann::json& j) {
  PeerMtuStatus m;
  if (!j.contains("overlay_mtu")) return m;
  m.known = true;
  if (j.contains("path_mtu") && j.at("path_mtu").is_number()) {
    m.path_mtu = j.at("path_mtu").get<uint32_t>();
  }
  m.overlay_mtu = j.at("overlay_mtu").get<uint32_t>();
  m.pmtud_state = j.value("pmtud_state", std::string());
  if (j.contains("peer_runs_tern") && j.at("peer_runs_tern").is_boolean()) {
    m.peer_runs_tern = j.at("peer_runs_tern").get<bool>();
  }
  m.announced_mtu = j.value("announced_mtu", 0u);
  if (j.contains("probes")) {
    m.pings_sent = j.at("probes").value("pings_sent", uint64_t{0});
    m.pongs_received = j.at("probes").value("pongs_received", uint64_t{0});
  }
  m.ptb_sent = j.value("ptb_sent", uint64_t{0});
  m.fragments_made = j.value("fragments_made", uint64_t{0});
  m.mss_clamped = j.value("mss_clamped", uint64_t{0});
  return m;
}

std::string mtu_human(const PeerMtuStatus& m) {
  std::string path = m.path_mtu ? std::to_string(*m.path_mtu) : std::string("unknown");
  std::string peer = !m.peer_runs_tern   ? "probing"
                     : *m.peer_runs_tern ? "peer runs tern"
                                         : "peer answers no probes (stock WireGuard?)";
  return fmt::format("path {} ({}, {}), overlay {}", path, m.pmtud_state, peer, m.overlay_mtu);
}

std::string bytes_human(uint64_t b) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(b);
  size_t u = 0;
  while (v >= 1024 && u + 1 < std::size(units)) {
    v /= 1024;
    ++u;
  }
  return u == 0 ? fmt::format("{} B", b) : fmt::format("{:.2f} {}", v, units[u]);
}

std::string age_human(WallTime then, WallTime now) {
  int64_t s = (now.unix_ns - then.unix_ns) / 1'000'000'000;
  if (s < 0) s = 0;
  if (s < 120) return fmt::format("{} s ago", s);
  if (s < 7200) return fmt::format("{} min {} s ago", s / 60, s % 60);
  return fmt::format("{} h {} min ago", s / 3600, (s / 60) % 60);
}

std::string drops_human(const DropCounters& d) {
  std::string out;
  for (size_t i = 0; i < kDropReasonCount; ++i) {
    if (d.counts[i] == 0) continue;
    if (!out.empty()) out += ", ";
    out += fmt::format("{} {}", drop_reason_name(static_cast<DropReason>(i)), d.counts[i]);
  }
  return out.empty() ? "none" : out;
}

nlohmann::json control_json(const ControlStatus& c) {
  nlohmann::json relays = nlohmann::json::array();
  for (const auto& r : c.relays)
    relays.push_back({{"url", r.url}, {"expires_unix", r.expires_unix}});
  return {{"server", c.server},
          {"connection", c.connection},
          {"last_error", c.last_error},
          {"revision", c.revision},
          {"map_received_unix",
           c.map_received_unix ? nlohmann::json(*c.map_received_unix) : nlohmann::json()},
          {"overlay_ipv4", c.overlay_ipv4},
          {"overlay_ipv6", c.overlay_ipv6},
          {"peers", c.peers},
          {"relays", std::move(relays)}};
}

ControlStatus control_from_json(const nlohmann::json& j) {
  ControlStatus c;
  c.server = j.value("server", std::string());
  c.connection = j.value("connection", std::string());
  c.last_error = j.value("last_error", std::string());
  c.revision = j.value("revision", int64_t{0});
  if (j.contains("map_received_unix") && j.at("map_received_unix").is_number()) {
    c.map_received_unix = j.at("map_received_unix").get<int64_t>();
  }
  c.overlay_ipv4 = j.value("overlay_ipv4", std::string());
  c.overlay_ipv6 = j.value("overlay_ipv6", std::string());
  c.peers = j.value("peers", size_t{0});
  if (j.contains("relays")) {
    for (const auto& r : j.at("relays")) {
      c.relays.push_back({r.value("url", std::string()), r.value("expires_unix", int64_t{0})});
    }
  }
  return c;
}

std::string control_human(const ControlStatus& c, WallTime now) {
  std::string out = fmt::format("  control:     {} ({})\n", c.server, c.connection);
  if (!c.last_error.empty() && c.connection != "connected") {
    out += fmt::format("  last error:  {}\n", c.last_error);
  }
  if (c.revision == 0) return out + "  map:         none yet\n";
  out += fmt::format("  map:         revision {}, {} peer(s), received {}\n", c.revision, c.peers,
                     c.map_received_unix
                         ? age_human(WallTime{*c.map_received_unix * 1'000'000'000}, now)
                         : std::string("(unknown)"));
  out += fmt::format("  overlay:     {}, {}\n", c.overlay_ipv4, c.overlay_ipv6);
  for (const auto& r : c.relays) {
    const int64_t left = r.expires_unix - now.unix_ns / 1'000'000'000;
    out +=
        fmt::format("  relay:       {} (credentials {})\n", r.url,
                    left > 0 ? fmt::format("valid {} h {} min more", left / 3600, (left / 60) % 60)
                             : std::string("expired"));
  }
  return out;
}

nlohmann::json endpoint_json(const std::optional<Endpoint>& e) {
  return e ? nlohmann::json(e->to_string()) : nlohmann::json();
}

std::optional<Endpoint> endpoint_from_json(const nlohmann::json& j, const char* key) {
  if (!j.contains(key) || !j.at(key).is_string()) return std::nullopt;
  return Endpoint::parse(j.at(key).get<std::string>());
}

nlohmann::json relay_json(const RelayStatus& r) {
  nlohmann::json j;
  j["url"] = r.url;
  j["server"] = r.server;
  j["state"] = r.state;
  j["relayed_address"] = endpoint_json(r.relayed);
  j["mapped_address"] = endpoint_json(r.mapped);
  j["last_error"] = r.last_error;
  j["stream_stalls"] = r.stream_stalls;
  j["stream_mss"] = r.stream_mss;
  j["peers"] = nlohmann::json::array();
  for (const auto& p : r.peers) {
    j["peers"].push_back({{"endpoint", p.endpoint.to_string()},
                          {"channel", p.channel},
                          {"permission", p.permission}});
  }
  return j;
}

RelayStatus relay_from_json(const nlohmann::json& j) {
  RelayStatus r;
  r.url = j.value("url", std::string());
  r.server = j.value("server", std::string());
  r.state = j.value("state", std::string());
  r.relayed = endpoint_from_json(j, "relayed_address");
  r.mapped = endpoint_from_json(j, "mapped_address");
  r.last_error = j.value("last_error", std::string());
  r.stream_stalls = j.value("stream_stalls", uint64_t{0});
  r.stream_mss = j.value("stream_mss", uint16_t{0});
  if (j.contains("peers") && j.at("peers").is_array()) {
    for (const auto& pj : j.at("peers")) {
      auto e = endpoint_from_json(pj, "endpoint");
      if (!e) continue;
      r.peers.push_back({*e, pj.value("channel", uint16_t{0}), pj.value("permission", false)});
    }
  }
  return r;
}

std::string relay_human(const RelayStatus& r) {
  std::string out = fmt::format("  relay:       {} ({}, {})\n", r.url, r.server, r.state);
  if (r.relayed) {
    out += fmt::format("  relayed:     {} (peers send here)\n", r.relayed->to_string());
  }
  if (!r.last_error.empty()) out += fmt::format("  relay error: {}\n", r.last_error);
  if (r.stream_stalls > 0) {
    out += fmt::format("  relay stall: {} (connection made again with {}-byte TCP segments)\n",
                       r.stream_stalls, r.stream_mss);
  }
  return out;
}

}  // namespace

nlohmann::json to_json(const InterfaceStatus& s) {
  nlohmann::json j;
  j["name"] = s.name;
  j["public_key"] = s.public_key;
  j["listen_port"] = s.listen_port;
  j["mtu"] = s.mtu;
  nlohmann::json totals;
  traffic_to_json(totals, s.totals);
  totals["drops"] = drops_json(s.drops);
  totals["drops_total"] = s.drops.total();
  j["totals"] = totals;
  j["peers"] = nlohmann::json::array();
  for (const auto& p : s.peers) {
    nlohmann::json pj;
    pj["public_key"] = p.public_key;
    pj["endpoint"] = p.endpoint ? nlohmann::json(p.endpoint->to_string()) : nlohmann::json();
    pj["last_handshake_unix"] = p.last_handshake
                                    ? nlohmann::json(p.last_handshake->unix_ns / 1'000'000'000)
                                    : nlohmann::json();
    traffic_to_json(pj, p.traffic);
    pj["persistent_keepalive"] = p.persistent_keepalive;
    pj["allowed_ips"] = nlohmann::json::array();
    for (const auto& a : p.allowed_ips)
      pj["allowed_ips"].push_back(a.to_string());
    pj["drops"] = drops_json(p.drops);
    pj["drops_total"] = p.drops.total();
    mtu_to_json(pj, p.mtu);
    pj["via_relay"] = p.via_relay;
    j["peers"].push_back(pj);
  }
  if (s.control) j["control"] = control_json(*s.control);
  if (s.relay) j["relay"] = relay_json(*s.relay);
  return j;
}

InterfaceStatus status_from_json(const nlohmann::json& j) {
  InterfaceStatus s;
  s.name = j.at("name").get<std::string>();
  s.public_key = j.at("public_key").get<std::string>();
  s.listen_port = j.at("listen_port").get<uint16_t>();
  s.mtu = j.value("mtu", 0u);
  s.totals = traffic_from_json(j.at("totals"));
  s.drops = drops_from_json(j.at("totals").at("drops"));
  for (const auto& pj : j.at("peers")) {
    PeerStatus p;
    p.public_key = pj.at("public_key").get<std::string>();
    if (pj.at("endpoint").is_string()) {
      p.endpoint = Endpoint::parse(pj.at("endpoint").get<std::string>());
    }
    if (pj.at("last_handshake_unix").is_number()) {
      p.last_handshake = WallTime{pj.at("last_handshake_unix").get<int64_t>() * 1'000'000'000};
    }
    p.traffic = traffic_from_json(pj);
    p.persistent_keepalive = pj.value("persistent_keepalive", uint16_t{0});
    for (const auto& a : pj.at("allowed_ips")) {
      if (auto prefix = IpPrefix::parse(a.get<std::string>())) p.allowed_ips.push_back(*prefix);
    }
    p.drops = drops_from_json(pj.at("drops"));
    p.mtu = mtu_from_json(pj);
    p.via_relay = pj.value("via_relay", false);
    s.peers.push_back(std::move(p));
  }
  if (j.contains("control") && j.at("control").is_object()) {
    s.control = control_from_json(j.at("control"));
  }
  if (j.contains("relay") && j.at("relay").is_object()) s.relay = relay_from_json(j.at("relay"));
  return s;
}

std::string format_status(const InterfaceStatus& s, WallTime now) {
  std::string out;
  out += fmt::format("interface {}\n", s.name);
  out += fmt::format("  public key:  {}\n", s.public_key);
  out += fmt::format("  listen port: {}\n", s.listen_port);
  if (s.mtu) out += fmt::format("  mtu:         {}\n", s.mtu);
  out += fmt::format("  traffic:     rx {} ({} packets), tx {} ({} packets)\n",
                     bytes_human(s.totals.rx_bytes), s.totals.rx_packets,
                     bytes_human(s.totals.tx_bytes), s.totals.tx_packets);
  out += fmt::format("  dropped:     {} ({})\n", s.drops.total(), drops_human(s.drops));
  if (s.control) out += control_human(*s.control, now);
  if (s.relay) out += relay_human(*s.relay);
  for (const auto& p : s.peers) {
    out += fmt::format("\npeer {}\n", p.public_key);
    out += fmt::format("  endpoint:       {}{}\n", p.endpoint ? p.endpoint->to_string() : "(none)",
                       p.via_relay ? " (through the relay)" : "");
    std::string ips;
    for (const auto& a : p.allowed_ips)
      ips += (ips.empty() ? "" : ", ") + a.to_string();
    out += fmt::format("  allowed ips:    {}\n", ips.empty() ? "(none)" : ips);
    out += fmt::format("  last handshake: {}\n",
                       p.last_handshake ? age_human(*p.last_handshake, now) : "never");
    out += fmt::format("  traffic:        rx {} ({} packets), tx {} ({} packets)\n",
                       bytes_human(p.traffic.rx_bytes), p.traffic.rx_packets,
                       bytes_human(p.traffic.tx_bytes), p.traffic.tx_packets);
    if (p.persistent_keepalive) {
      out += fmt::format("  keepalive:      every {} s\n", p.persistent_keepalive);
    }
    if (p.mtu.known) {
      out += fmt::format("  mtu:            {}\n", mtu_human(p.mtu));
      out += fmt::format("  too big:        ptb_sent {}, fragments_made {}, mss_clamped {}\n",
                         p.mtu.ptb_sent, p.mtu.fragments_made, p.mtu.mss_clamped);
    }
    out += fmt::format("  dropped:        {} ({})\n", p.drops.total(), drops_human(p.drops));
  }
  return out;
}

}  // namespace tern::agent

#include "doctor/wg_check.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "crypto/key_encoding.hpp"

namespace tern::doctor {
namespace {

int64_t secs(Duration d) {
  return std::chrono::duration_cast<std::chrono::seconds>(d).count();
}

bool is_loopback(const Endpoint& e) {
  const IpAddress a = e.address.unmapped();
  if (a.is_v4()) return (a.v4_host_order() >> 24) == 127;
  return a == *IpAddress::parse("::1");
}

const uapi::PeerSnapshot* find_peer(const uapi::DeviceSnapshot& d, const crypto::Key& k) {
  for (const auto& p : d.peers) {
    if (p.public_key == k) return &p;
  }
  return nullptr;
}

std::optional<Duration> handshake_age(const uapi::PeerSnapshot& p, WallTime now) {
  if (p.last_handshake_time_sec == 0 && p.last_handshake_time_nsec == 0) return std::nullopt;
  const int64_t at = p.last_handshake_time_sec * 1'000'000'000 + p.last_handshake_time_nsec;
  return Duration(std::max<int64_t>(0, now.unix_ns - at));
}

std::string flapping_message(const WgPeerReport& r, Duration window) {
  const bool relay = std::any_of(r.endpoints.begin(), r.endpoints.end(), is_loopback) &&
                     !std::all_of(r.endpoints.begin(), r.endpoints.end(), is_loopback);
  std::string seen;
  for (const auto& e : r.endpoints)
    seen += (seen.empty() ? "" : ", ") + e.to_string();
  if (relay) {
    return fmt::format(
        "the endpoint changed {} times in {} s between a local relay proxy and a public "
        "address ({}): the connection flaps between relayed and direct, so packets are lost at "
        "each switch; the direct path keeps failing: run `tern doctor nat` and set a keepalive "
        "below the NAT's mapping lifetime, or open the WireGuard port",
        r.endpoint_changes, secs(window), seen);
  }
  return fmt::format(
      "the endpoint changed {} times in {} s ({}): the peer roams between paths or its NAT "
      "keeps remapping it, and packets in flight at each change are lost; give the peer one "
      "stable path (a keepalive below its NAT's mapping lifetime)",
      r.endpoint_changes, secs(window), seen);
}

// WireGuard data messages are 32 + 16k bytes; keepalives are 32 and initiations 148, so a
// step of at most two of each is told apart from data (an empty data packet aside).
bool is_control_step(uint64_t bytes) {
  for (uint64_t keepalives = 0; keepalives <= 2; ++keepalives) {
    for (uint64_t initiations = 0; initiations <= 2; ++initiations) {
      if (bytes == keepalives * kKeepaliveBytes + initiations * kInitiationBytes) return true;
    }
  }
  return false;
}

}  // namespace

unsigned keepalive_for_lifetime(Duration lifetime) {
  return static_cast<unsigned>(std::clamp<int64_t>(secs(lifetime) * 2 / 3, 1, 25));
}

WgInterfaceReport check_wg(const WgCheckInput& in) {
  WgInterfaceReport out;
  out.ifname = in.ifname;
  out.source = in.source;
  out.mtu = in.mtu;
  out.nat_lifetime = in.nat_lifetime;
  if (in.samples.empty()) {
    out.error = "no sample of the interface";
    return out;
  }
  const WgSample& first = in.samples.front();
  const WgSample& last = in.samples.back();
  out.window = last.at - first.at;
  for (const auto& peer : last.device.peers) {
    WgPeerReport r;
    r.public_key = peer.public_key;
    r.keepalive = peer.persistent_keepalive_interval;
    r.endpoint = peer.endpoint;
    std::optional<Endpoint> previous;
    const uapi::PeerSnapshot* earliest = nullptr;
    const uapi::PeerSnapshot* before = nullptr;
    for (const auto& s : in.samples) {
      const auto* p = find_peer(s.device, peer.public_key);
      if (!p) continue;
      if (!earliest) earliest = p;
      if (before && p->rx_bytes >= before->rx_bytes &&
          !is_control_step(p->rx_bytes - before->rx_bytes)) {
        r.rx_control_only = false;
      }
      before = p;
      if (!p->endpoint) continue;
      if (previous && *previous != *p->endpoint) ++r.endpoint_changes;
      previous = p->endpoint;
      if (std::find(r.endpoints.begin(), r.endpoints.end(), *p->endpoint) == r.endpoints.end()) {
        r.endpoints.push_back(*p->endpoint);
      }
    }
    // Counters that went backwards belong to a peer removed and added again: no delta.
    if (earliest && peer.rx_bytes >= earliest->rx_bytes)
      r.rx_delta = peer.rx_bytes - earliest->rx_bytes;
    if (earliest && peer.tx_bytes >= earliest->tx_bytes)
      r.tx_delta = peer.tx_bytes - earliest->tx_bytes;
    r.handshake_age = handshake_age(peer, last.wall);
    if (auto it = in.pings.find(peer.public_key); it != in.pings.end()) r.ping = it->second;

    // Two changes are an alternation; one is a roam (or a failover) and is allowed.
    if (r.endpoint_changes >= 2)
      r.findings.push_back({"endpoint_flapping", flapping_message(r, out.window)});

    const bool trying = r.tx_delta > 0 || r.keepalive > 0;
    bool session_finding = false;
    if (!r.handshake_age && r.tx_delta > 0) {
      r.findings.push_back(
          {"handshake_failing",
           fmt::format("{} bytes left for this peer in {} s and no handshake ever completed: the "
                       "peer does not answer; check its public key, its endpoint{} and that its "
                       "UDP port is open",
                       r.tx_delta, secs(out.window),
                       r.endpoint ? " (" + r.endpoint->to_string() + ")" : "")});
      session_finding = true;
    } else if (r.handshake_age && *r.handshake_age > kDeadSessionAge && trying) {
      r.findings.push_back(
          {"handshake_stale",
           fmt::format("the last handshake was {} s ago, so the session is dead (older than "
                       "{} s) although this side {}: the peer stopped answering handshakes; "
                       "check that it runs, its endpoint and the firewall on its UDP port",
                       secs(*r.handshake_age), secs(kDeadSessionAge),
                       r.tx_delta > 0 ? "keeps sending" : "has a keepalive")});
      session_finding = true;
    }
    // Keepalives (and the handshake that may follow them) leave without an answer by design.
    // What comes back from a peer that hears nothing from us is its own keepalives (persistent
    // ones, or the passive one WireGuard sends 10 s after receiving) and, once its session
    // goes quiet, its handshake initiations: control messages only, never data.
    const int64_t window_s = std::max<int64_t>(1, secs(out.window));
    const uint64_t keepalive_allowance =
        r.keepalive ? kKeepaliveBytes * static_cast<uint64_t>(window_s / r.keepalive + 1) : 0;
    if (!session_finding && out.window >= std::chrono::seconds(10) &&
        r.tx_delta > keepalive_allowance + kInitiationBytes && r.rx_control_only &&
        r.rx_delta * 4 < r.tx_delta) {
      r.findings.push_back(
          {"one_way_loss",
           fmt::format("{} bytes left for this peer in {} s and {} came back: packets are lost "
                       "one way; check the path to {} and the firewall on the peer's side",
                       r.tx_delta, secs(out.window),
                       r.rx_delta
                           ? fmt::format("only {} bytes of keepalives and handshakes", r.rx_delta)
                           : std::string("nothing"),
                       r.endpoint ? r.endpoint->to_string() : std::string("the peer"))});
    }
    if (in.nat_lifetime && r.endpoint) {
      const unsigned want = keepalive_for_lifetime(*in.nat_lifetime);
      if (r.keepalive == 0 || r.keepalive > want) {
        r.findings.push_back(
            {"keepalive_exceeds_nat_lifetime",
             r.keepalive == 0
                 ? fmt::format("no keepalive but this NAT forgets mappings after ~{} s: set "
                               "PersistentKeepalive = {}",
                               secs(*in.nat_lifetime), want)
                 : fmt::format("keepalive {} s but this NAT forgets mappings after ~{} s: set "
                               "PersistentKeepalive = {}",
                               r.keepalive, secs(*in.nat_lifetime), want)});
      }
    }
    if (r.ping && r.ping->largest_answered && in.mtu && *r.ping->largest_answered < *in.mtu) {
      r.findings.push_back(
          {"tunnel_mtu_black_hole",
           fmt::format("packets above {} bytes vanish on the way to this peer (interface MTU {}): "
                       "set MTU {}",
                       *r.ping->largest_answered, *in.mtu, *r.ping->largest_answered)});
    }
    out.peers.push_back(std::move(r));
  }
  return out;
}

bool has_findings(const std::vector<WgInterfaceReport>& reports) {
  for (const auto& i : reports) {
    for (const auto& p : i.peers) {
      if (!p.findings.empty()) return true;
    }
  }
  return false;
}

std::string render_wg_human(const std::vector<WgInterfaceReport>& reports) {
  std::string s;
  if (reports.empty()) s += "no WireGuard interface found\n";
  for (const auto& i : reports) {
    s += fmt::format("interface {} ({}", i.ifname, i.source);
    if (i.mtu) s += fmt::format(", mtu {}", *i.mtu);
    s += fmt::format(", sampled {} s)\n", secs(i.window));
    if (!i.error.empty()) {
      s += fmt::format("  cannot read it: {}\n", i.error);
      continue;
    }
    for (const auto& p : i.peers) {
      s += fmt::format("  peer {}\n", crypto::key_to_base64(p.public_key));
      s += fmt::format("    endpoint   {}", p.endpoint ? p.endpoint->to_string() : "(none)");
      if (p.endpoint_changes) s += fmt::format(" ({} changes)", p.endpoint_changes);
      s += "\n";
      s += fmt::format("    handshake  {}\n", p.handshake_age
                                                  ? fmt::format("{} s ago", secs(*p.handshake_age))
                                                  : std::string("never"));
      s += fmt::format("    traffic    +{} bytes in, +{} bytes out; keepalive {}\n", p.rx_delta,
                       p.tx_delta, p.keepalive ? fmt::format("{} s", p.keepalive) : "off");
      if (p.ping) {
        s += fmt::format("    DF ping    {}: {}\n", p.ping->target.to_string(),
                         !p.ping->error.empty() ? "not run: " + p.ping->error
                         : p.ping->largest_answered
                             ? fmt::format("largest answered {} bytes", *p.ping->largest_answered)
                             : std::string("nothing answered"));
      }
      if (p.findings.empty()) s += "    ok: nothing wrong found\n";
      for (const auto& f : p.findings)
        s += fmt::format("    [{}] {}\n", f.code, f.message);
    }
  }
  return s;
}

nlohmann::json wg_to_json(const std::vector<WgInterfaceReport>& reports) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& i : reports) {
    nlohmann::json j;
    j["interface"] = i.ifname;
    j["source"] = i.source;
    j["mtu"] = i.mtu ? nlohmann::json(*i.mtu) : nlohmann::json(nullptr);
    j["window_s"] = secs(i.window);
    j["nat_lifetime_s"] =
        i.nat_lifetime ? nlohmann::json(secs(*i.nat_lifetime)) : nlohmann::json(nullptr);
    j["error"] = i.error.empty() ? nlohmann::json(nullptr) : nlohmann::json(i.error);
    nlohmann::json peers = nlohmann::json::array();
    for (const auto& p : i.peers) {
      nlohmann::json pj;
      pj["public_key"] = crypto::key_to_base64(p.public_key);
      pj["endpoint"] =
          p.endpoint ? nlohmann::json(p.endpoint->to_string()) : nlohmann::json(nullptr);
      nlohmann::json seen = nlohmann::json::array();
      for (const auto& e : p.endpoints)
        seen.push_back(e.to_string());
      pj["endpoints_seen"] = seen;
      pj["endpoint_changes"] = p.endpoint_changes;
      pj["handshake_age_s"] =
          p.handshake_age ? nlohmann::json(secs(*p.handshake_age)) : nlohmann::json(nullptr);
      pj["rx_bytes_delta"] = p.rx_delta;
      pj["tx_bytes_delta"] = p.tx_delta;
      pj["persistent_keepalive_s"] = p.keepalive;
      if (p.ping) {
        pj["df_ping"] = {{"target", p.ping->target.to_string()},
                         {"largest_answered", p.ping->largest_answered
                                                  ? nlohmann::json(*p.ping->largest_answered)
                                                  : nlohmann::json(nullptr)},
                         {"error", p.ping->error.empty() ? nlohmann::json(nullptr)
                                                         : nlohmann::json(p.ping->error)}};
      } else {
        pj["df_ping"] = nullptr;
      }
      nlohmann::json f = nlohmann::json::array();
      for (const auto& x : p.findings)
        f.push_back({{"code", x.code}, {"message", x.message}});
      pj["findings"] = f;
      peers.push_back(pj);
    }
    j["peers"] = peers;
    out.push_back(j);
  }
  return out;
}

}  // namespace tern::doctor

// What an open control stream carries (docs/control.md): the server's maps and deltas, applied
// to the device as they come; pings both ways and a silence limit; this machine's endpoints,
// reported again when they change; and a fresh handshake for peers a map added that stay
// silent a moment later. The connection itself is control_link.cpp's.
#include <algorithm>

#include "agent/control_apply.hpp"
#include "agent/control_link_impl.hpp"
#include "base/log.hpp"
#include "control/agent_messages.hpp"

namespace tern::agent {

std::vector<Endpoint> ControlLink::Impl::endpoints(Agent::State& s) const {
  std::vector<IpPrefix> overlay;
  if (const auto& m = follower.map()) overlay = {m->v4, m->v6};
  std::vector<Endpoint> eps = host_endpoints(s.name, s.udp.local_port(), overlay);
  // First: peers try the first endpoint, and behind a NAT only the reflexive one works.
  if (reflexive) {
    std::erase(eps, *reflexive);
    eps.insert(eps.begin(), *reflexive);
  }
  return eps;
}

void ControlLink::Impl::on_relays(Agent::State& s, const control::NetworkMap& map, Instant now) {
  std::vector<std::string> hosts;
  for (const auto& r : map.relays)
    if (auto h = stun_server_of(r.url)) hosts.push_back(std::move(*h));
  if (hosts == relay_hosts) return;
  relay_hosts = hosts;
  relay_addresses.clear();
  relay_lookups.clear();  // answers still in flight are dropped
  for (const auto& h : hosts) {
    if (auto literal = Endpoint::parse(h)) {
      relay_addresses.push_back(*literal);
      continue;
    }
    if (auto st = ensure_resolver(s); !st) {
      log::warn("control: relay {}: {}", h, st.error().message);
      continue;
    }
    relay_lookups.emplace_back(resolver->submit(h), h);
  }
  stun.set_servers(relay_addresses, now);
  note_reflexive(now);
}

void ControlLink::Impl::stun_timer(Agent::State& s, Instant now) {
  if (auto at = stun.poll_timeout(); !at || now < *at) return;
  stun.handle_timeout(now);
  while (auto t = stun.poll_transmit()) {
    // A request every few minutes: a batch of its own, from the WireGuard socket.
    io::SendBatch batch(1);
    if (!batch.add(t->to, t->data)) continue;
    if (auto sent = s.udp.send(batch); !sent || *sent != 1 || batch.error(0) != 0) {
      log::debug("control: the STUN request to {} was not sent", t->to.to_string());
    }
  }
  note_reflexive(now);
}

void ControlLink::Impl::note_reflexive(Instant now) {
  const auto r = stun.reflexive();
  if (r == reflexive) return;
  if (r) log::info("control: this machine's address seen by the relays is {}", r->to_string());
  reflexive = r;
  next_endpoints = now;
}

void ControlLink::Impl::on_stream_open(Instant now) {
  last_heard = now;
  next_ping = now + kPingInterval;
  next_endpoints = now;  // report at once
  reported.clear();
}

bool ControlLink::Impl::on_frames(Agent::State& s, Instant now, WallTime wall) {
  for (;;) {
    control::WsFrame frame;
    const auto p = control::parse_ws_frame(in, false, frame);
    if (p.result == control::WsParse::kIncomplete) return true;
    if (p.result != control::WsParse::kOk) {
      return failed(s, now, "the server sent a bad WebSocket frame"), false;
    }
    in.erase(0, p.consumed);
    switch (frame.opcode) {
      case control::WsOpcode::kText: {
        if (!frame.fin) return failed(s, now, "fragmented stream messages are not expected"), false;
        const auto u = follower.on_message(frame.payload);
        if (u.resync) return failed(s, now, "a delta did not follow our map; reconnecting"), false;
        on_update(s, u, now, wall);
        if (phase == LinkPhase::kDone) return false;
        break;
      }
      case control::WsOpcode::kPing:
        send_frame(control::WsOpcode::kPong, frame.payload);
        break;
      case control::WsOpcode::kClose: {
        // Answer it (RFC 6455 §5.5.1) with what the socket takes now, then go.
        send_frame(control::WsOpcode::kClose, std::string_view(frame.payload).substr(0, 2));
        (void)write(
            Bytes(reinterpret_cast<const uint8_t*>(out.data()) + out_sent, out.size() - out_sent));
        return failed(s, now, "the server closed the stream"), false;
      }
      default:
        break;  // pongs, binary: nothing to do
    }
  }
}

void ControlLink::Impl::on_update(Agent::State& s, const control::MapFollower::Update& u,
                                  Instant now, WallTime wall) {
  if (!u.error.empty()) {
    log::warn("control: ignored a message from the server: {}", u.error);
    return;
  }
  if (u.removed) {
    log::error(
        "control: this machine was removed from the network by its admin; its peers are "
        "gone. Join again with a new setup key.");
    s.device.remove_all_peers();
    forget_registration(state.dir);
    state.stream_token.clear();
    close(s);
    phase = LinkPhase::kDone;
    last_error = "removed from the network";
    return;
  }
  const auto& map = follower.map();
  if (!map) return;
  backoff.reset();
  map_received_unix = wall.unix_ns / 1'000'000'000;
  apply_map(s, *map, u.changes, applied_addresses, now);
  on_relays(s, *map, now);
  for (const auto& c : u.changes) {
    if (c.kind == control::PeerChange::Kind::kAdd)
      greeted.emplace_back(c.key, now + kGreetingRetry);
  }
  if (u.map_changed) {
    if (auto st = save_map(state.dir, *map); !st) log::warn("control: {}", st.error().message);
    state.map = *map;
  }
}

void ControlLink::Impl::on_stream_timer(Agent::State& s, Instant now, WallTime wall) {
  if (now - last_heard >= kSilenceLimit) {
    return failed(s, now, "the server has been silent for a minute; reconnecting");
  }
  if (now >= next_ping) {
    send_frame(control::WsOpcode::kPing, "");
    next_ping = now + kPingInterval;
  }
  if (now >= next_endpoints) {
    auto eps = endpoints(s);
    if (eps != reported) {
      send_frame(control::WsOpcode::kText, control::endpoints_message(eps));
      reported = std::move(eps);
    }
    next_endpoints = now + kEndpointsCheck;
  }
  if (!out.empty()) drive(s, now, wall);
}

std::optional<Instant> ControlLink::Impl::stream_timeout() const {
  return std::min({last_heard + kSilenceLimit, next_ping, next_endpoints});
}

void ControlLink::Impl::retry_greetings(Agent::State& s, Instant now) {
  std::erase_if(greeted, [&](const auto& g) {
    if (now < g.second) return false;
    renew_handshake(s, g.first, now);
    return true;
  });
}

std::optional<Instant> ControlLink::Impl::greeting_timeout() const {
  std::optional<Instant> at;
  for (const auto& g : greeted)
    if (!at || g.second < *at) at = g.second;
  return at;
}

}  // namespace tern::agent

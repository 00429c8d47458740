// A simulated NAT and RFC 5780 STUN server for the doctor's NAT tests: mapping and filtering
// behaviour, an idle timeout, hairpinning, and a server with two addresses that can be told
// to misbehave. Time is the caller's; every datagram takes one millisecond.
#pragma once

#include <deque>
#include <map>
#include <optional>
#include <set>
#include <vector>

#include "base/ip.hpp"
#include "base/time.hpp"
#include "doctor/nat_discovery.hpp"
#include "doctor/nat_types.hpp"
#include "wire/stun.hpp"
#include "wire/stun_attributes.hpp"
#include "wire/stun_builder.hpp"

namespace tern::doctor::test {

inline Endpoint ep(const char* s) {
  return *Endpoint::parse(s);
}

struct FakeNet {
  // NAT
  Mapping mapping = Mapping::kEndpointIndependent;  // EI, AD or APD
  Filtering filtering = Filtering::kAddressAndPortDependent;
  bool hairpin = false;
  bool preserve_ports = true;
  Duration lifetime = std::chrono::seconds(30);
  IpAddress inside = *IpAddress::parse("10.0.0.2");
  IpAddress outside = *IpAddress::parse("192.0.2.1");
  // Server
  Endpoint primary = ep("192.0.2.2:3478");
  Endpoint alternate = ep("192.0.2.3:3479");
  bool has_alternate = true;
  Endpoint second_server = ep("198.51.100.9:3478");  // a plain server, another machine
  bool silent = false;
  bool ignore_change_request = false;
  bool ignore_response_port = false;
  bool answer_from_wrong_source = false;
  bool send_malformed_first = false;
  bool map_to_server_itself = false;  // a lying server: "you are at my address"

  struct Binding {
    Endpoint inside;
    Endpoint dest_key;  // what the mapping is keyed by besides `inside`
    uint16_t port = 0;
    Instant last{};
    std::set<Endpoint> contacted;
  };
  std::vector<Binding> bindings;
  uint16_t next_port = 20000;

  struct Delivery {
    Instant at;
    size_t socket;
    Endpoint from;
    std::vector<uint8_t> data;
  };
  std::deque<Delivery> to_client;
  size_t socket_base = 0;  // local port of socket i is 5000 + socket_base + i

  Endpoint local(size_t socket) const {
    return Endpoint{inside, static_cast<uint16_t>(5000 + socket_base + socket)};
  }

  Endpoint key_for(const Endpoint& dest) const {
    if (mapping == Mapping::kAddressDependent) return Endpoint{dest.address, 0};
    if (mapping == Mapping::kAddressAndPortDependent) return dest;
    return Endpoint{};
  }
  bool alive(const Binding& b, Instant now) const { return now - b.last < lifetime; }

  Binding& outbound(const Endpoint& from, const Endpoint& to, Instant now) {
    const Endpoint key = key_for(to);
    for (auto& b : bindings) {
      if (b.inside == from && b.dest_key == key && alive(b, now)) {
        b.last = now;
        b.contacted.insert(to);
        return b;
      }
    }
    uint16_t port = next_port++;
    const bool taken = std::any_of(bindings.begin(), bindings.end(), [&](const Binding& b) {
      return b.port == from.port && alive(b, now);
    });
    if (preserve_ports && !taken) port = from.port;
    bindings.push_back(Binding{from, key, port, now, {to}});
    return bindings.back();
  }

  bool filter_passes(const Binding& b, const Endpoint& from) const {
    switch (filtering) {
      case Filtering::kEndpointIndependent:
        return true;
      case Filtering::kAddressDependent:
        return std::any_of(b.contacted.begin(), b.contacted.end(),
                           [&](const Endpoint& c) { return c.address == from.address; });
      default:
        return b.contacted.count(from) > 0;
    }
  }

  // A datagram arriving at the NAT's outside address.
  void inbound(const Endpoint& from, uint16_t port, std::vector<uint8_t> data, Instant now) {
    for (auto& b : bindings) {
      if (b.port != port || !alive(b, now) || !filter_passes(b, from)) continue;
      b.last = now;
      const size_t socket = b.inside.port - 5000 - socket_base;
      to_client.push_back(
          Delivery{now + std::chrono::milliseconds(1), socket, from, std::move(data)});
      return;
    }
  }

  void send(size_t socket, const Endpoint& to, const std::vector<uint8_t>& data, Instant now) {
    Binding& b = outbound(local(socket), to, now);
    const Endpoint public_from{outside, b.port};
    if (to.address == outside) {
      if (hairpin) inbound(public_from, to.port, data, now);
      return;
    }
    serve(public_from, to, data, now);
  }

  void serve(const Endpoint& from, const Endpoint& to, const std::vector<uint8_t>& data,
             Instant now) {
    if (silent) return;
    const bool at_server = to.address == primary.address ||
                           (has_alternate && to.address == alternate.address) ||
                           to == second_server;
    if (!at_server) return;
    auto m = wire::StunMessage::parse(data);
    if (!m || !m->is(wire::StunMethod::kBinding, wire::StunClass::kRequest)) return;
    Endpoint source = to;
    if (auto c = m->find(wire::StunAttr::kChangeRequest); c && !ignore_change_request) {
      auto cr = wire::decode_change_request(c->value);
      if (cr && has_alternate) {
        if (cr->change_ip)
          source.address = to.address == primary.address ? alternate.address : primary.address;
        if (cr->change_port) source.port = to.port == primary.port ? alternate.port : primary.port;
      }
    }
    Endpoint dest = from;
    if (auto r = m->find(wire::StunAttr::kResponsePort); r && !ignore_response_port) {
      dest.port = static_cast<uint16_t>((r->value[0] << 8) | r->value[1]);
    }
    if (answer_from_wrong_source) source.port = static_cast<uint16_t>(source.port + 1);
    std::vector<uint8_t> out(1280);
    wire::StunBuilder b(out, wire::StunMethod::kBinding, wire::StunClass::kSuccess,
                        m->transaction_id());
    b.add_xor_address(wire::StunAttr::kXorMappedAddress, map_to_server_itself ? source : from);
    if (has_alternate && to != second_server) {
      b.add_address(wire::StunAttr::kOtherAddress, alternate);
      b.add_address(wire::StunAttr::kResponseOrigin, source);
    }
    out.resize(b.size());
    if (send_malformed_first) {
      std::vector<uint8_t> bad = out;
      bad[3] = static_cast<uint8_t>(bad[3] + 4);  // length disagrees with the datagram
      inbound(source, dest.port, bad, now);
    }
    inbound(source, dest.port, out, now);
  }

  // Runs a state machine (NatDiscovery or LifetimeSearch) to completion.
  template <class M>
  Instant run(M& m, Instant now, Duration bound = std::chrono::seconds(600)) {
    const Instant end = now + bound;
    while (!m.done() && now < end) {
      while (auto t = m.poll_transmit())
        send(t->socket, t->to, t->data, now);
      Instant next = end;
      if (auto t = m.poll_timeout()) next = std::min(next, *t);
      if (!to_client.empty()) next = std::min(next, to_client.front().at);
      now = std::max(now, next);
      while (!to_client.empty() && to_client.front().at <= now) {
        auto d = std::move(to_client.front());
        to_client.pop_front();
        m.handle_input(d.socket, d.from, d.data, now);
      }
      m.handle_timeout(now);
    }
    return now;
  }
};

}  // namespace tern::doctor::test

#include "agent/control_stun.hpp"

#include <algorithm>

#include "crypto/random.hpp"
#include "wire/stun_attributes.hpp"
#include "wire/stun_builder.hpp"

namespace tern::agent {

std::optional<std::string> stun_server_of(std::string_view url) {
  std::string_view rest;
  if (url.starts_with("turn:")) {
    rest = url.substr(5);
  } else if (url.starts_with("stun:")) {
    rest = url.substr(5);
  } else {
    return std::nullopt;
  }
  if (const size_t q = rest.find('?'); q != std::string_view::npos) {
    if (rest.substr(q) != "?transport=udp") return std::nullopt;
    rest = rest.substr(0, q);
  }
  if (rest.empty()) return std::nullopt;
  // Where the host ends: after the bracket of an IPv6 literal, else at the only colon.
  size_t host_end = rest.find(':');
  if (rest.front() == '[') {
    host_end = rest.find(']');
    if (host_end == std::string_view::npos || host_end == 1) return std::nullopt;
    ++host_end;
  } else if (host_end != std::string_view::npos && rest.find(':', host_end + 1) != rest.npos) {
    return std::nullopt;  // IPv6 goes in brackets
  }
  if (host_end == 0) return std::nullopt;
  if (host_end == std::string_view::npos || host_end == rest.size()) {
    return std::string(rest) + ":3478";
  }
  if (rest[host_end] != ':') return std::nullopt;
  const std::string_view port = rest.substr(host_end + 1);
  if (port.empty() || port.size() > 5 ||
      !std::all_of(port.begin(), port.end(), [](char ch) { return ch >= '0' && ch <= '9'; })) {
    return std::nullopt;
  }
  const int value = std::stoi(std::string(port));
  if (value == 0 || value > 65535) return std::nullopt;
  return std::string(rest);
}

void ReflexiveProbe::set_servers(std::vector<Endpoint> servers, Instant now) {
  std::sort(servers.begin(), servers.end());
  servers.erase(std::unique(servers.begin(), servers.end()), servers.end());
  if (servers == servers_) return;
  servers_ = std::move(servers);
  std::vector<Server> next;
  for (const auto& address : servers_) {
    auto old = std::find_if(state_.begin(), state_.end(),
                            [&](const Server& s) { return s.address == address; });
    if (old != state_.end()) {
      next.push_back(std::move(*old));
    } else {
      next.push_back(Server{address, now, {}, {}, {}, false});
    }
  }
  state_ = std::move(next);
}

void ReflexiveProbe::start_request(Server& s, Instant now) {
  wire::TransactionId id{};
  crypto::random_bytes(id);
  s.pending = id;
  s.retransmit.emplace(core::StunTransport::kUdp, now);
  s.send_now = true;
  s.next = now + kInterval;
}

bool ReflexiveProbe::handle_input(const Endpoint& from, Bytes datagram, Instant now) {
  if (!wire::is_stun(datagram)) return false;
  auto s = std::find_if(state_.begin(), state_.end(),
                        [&](const Server& x) { return x.address == from && x.pending; });
  if (s == state_.end()) return false;
  auto m = wire::StunMessage::parse(datagram);
  if (!m || m->transaction_id() != *s->pending || m->method() != wire::StunMethod::kBinding) {
    return false;
  }
  if (!m->is_success() && !m->is_error()) return false;
  s->pending.reset();
  s->retransmit.reset();
  s->send_now = false;
  s->next = now + kInterval;
  std::optional<Endpoint> mapped;
  if (m->is_success()) {
    if (auto a = m->find(wire::StunAttr::kXorMappedAddress)) {
      mapped = wire::decode_xor_address(a->value, m->transaction_id());
    } else if (auto b = m->find(wire::StunAttr::kMappedAddress)) {
      mapped = wire::decode_address(b->value);
    }
  }
  // An error, or a success without an address: this relay says nothing about us this round.
  s->mapped = mapped;
  return true;
}

void ReflexiveProbe::handle_timeout(Instant now) {
  for (auto& s : state_) {
    if (s.retransmit) {
      if (auto d = s.retransmit->deadline(); d && now >= *d) {
        switch (s.retransmit->poll(now)) {
          case core::StunRetransmit::Due::kRetransmit:
            s.send_now = true;
            break;
          case core::StunRetransmit::Due::kTimedOut:
            s.pending.reset();
            s.retransmit.reset();
            s.mapped.reset();  // the relay or the path to it is gone
            break;
          case core::StunRetransmit::Due::kNothing:
            break;
        }
      }
    }
    if (!s.pending && now >= s.next) start_request(s, now);
  }
}

std::optional<Instant> ReflexiveProbe::poll_timeout() const {
  std::optional<Instant> at;
  auto take = [&](Instant t) {
    if (!at || t < *at) at = t;
  };
  for (const auto& s : state_) {
    if (s.retransmit) {
      if (auto d = s.retransmit->deadline()) take(*d);
    } else {
      take(s.next);
    }
  }
  return at;
}

std::optional<ReflexiveProbe::Transmit> ReflexiveProbe::poll_transmit() {
  for (auto& s : state_) {
    if (!s.send_now || !s.pending) continue;
    s.send_now = false;
    std::vector<uint8_t> out(wire::kStunMaxUdpMessage);
    wire::StunBuilder b(out, wire::StunMethod::kBinding, wire::StunClass::kRequest, *s.pending);
    b.add_fingerprint();
    out.resize(b.size());
    return Transmit{s.address, std::move(out)};
  }
  return std::nullopt;
}

std::optional<Endpoint> ReflexiveProbe::reflexive() const {
  std::optional<Endpoint> v6;
  for (const auto& s : state_) {
    if (!s.mapped) continue;
    if (s.mapped->address.is_v4()) return s.mapped;
    if (!v6) v6 = s.mapped;
  }
  return v6;
}

}  // namespace tern::agent

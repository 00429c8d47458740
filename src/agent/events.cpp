#include "agent/events.hpp"

#include "agent/agent_state.hpp"
#include "agent/underlay_mtu.hpp"
#include "base/log.hpp"
#include "crypto/key_encoding.hpp"

namespace tern::agent {
namespace {

std::string peer_name(Agent::State& s, core::PeerId id) {
  auto info = s.device.peer_info(id);
  if (!info) return "(removed peer)";
  return "peer " + crypto::key_to_base64(info->public_key).substr(0, 8) + "…";
}

std::string endpoint_text(const std::optional<Endpoint>& e) {
  return e ? e->to_string() : std::string("(unknown)");
}

std::string mtu_text(size_t mtu) {
  return mtu ? std::to_string(mtu) : std::string("(unknown)");
}

}  // namespace

void log_device_events(Agent::State& s) {
  while (auto e = s.device.poll_event()) {
    switch (e->kind) {
      case core::DeviceEvent::Kind::kHandshakeCompleted:
        log::debug("{}: handshake completed with {}", peer_name(s, e->peer),
                   endpoint_text(e->endpoint));
        break;
      case core::DeviceEvent::Kind::kEndpointChanged:
        log::info("{}: endpoint moved from {} to {}", peer_name(s, e->peer),
                  endpoint_text(e->old_endpoint), endpoint_text(e->endpoint));
        refresh_max_path_mtu(s);  // the new route may leave through another interface
        break;
      case core::DeviceEvent::Kind::kHandshakeAbandoned:
        log::warn(
            "{}: no handshake answer from {} for 90 s; dropped {} waiting packet(s) "
            "(handshake_timeout). Check that the peer runs, that its public key and ours match "
            "the configs, and that UDP reaches it",
            peer_name(s, e->peer), endpoint_text(e->endpoint), e->dropped);
        break;
      case core::DeviceEvent::Kind::kKeysZeroed:
        log::debug("{}: idle for 9 minutes, session keys erased", peer_name(s, e->peer));
        break;
      case core::DeviceEvent::Kind::kPathMtuChanged:
        log::info("{}: path MTU {} -> {}{}, overlay MTU {}", peer_name(s, e->peer),
                  mtu_text(e->old_path_mtu), mtu_text(e->new_path_mtu),
                  e->black_hole ? " (black hole)" : "", e->new_overlay_mtu);
        break;
      case core::DeviceEvent::Kind::kProbesAnswered:
        log::info("{}: answers path probes at {} (runs tern): searching its path MTU",
                  peer_name(s, e->peer), endpoint_text(e->endpoint));
        break;
      case core::DeviceEvent::Kind::kProbesUnanswered:
        log::info(
            "{}: no answer to path probes at {}: a stock WireGuard peer (or probes are "
            "filtered); keeping MTU {}, asking again in 10 minutes",
            peer_name(s, e->peer), endpoint_text(e->endpoint), s.mtu);
        break;
    }
  }
}

}  // namespace tern::agent

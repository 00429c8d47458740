#include "relay/metrics.hpp"

#include <fmt/format.h>

#include <iterator>

namespace tern::relay {

RelayCounters& RelayCounters::operator+=(const RelayCounters& o) {
  allocations_current += o.allocations_current;
  allocations_total += o.allocations_total;
  allocations_expired += o.allocations_expired;
  challenges += o.challenges;
  for (size_t i = 0; i < requests.size(); ++i)
    requests[i] += o.requests[i];
  to_peer.packets += o.to_peer.packets;
  to_peer.bytes += o.to_peer.bytes;
  to_client.packets += o.to_client.packets;
  to_client.bytes += o.to_client.bytes;
  for (size_t i = 0; i < drops.size(); ++i)
    drops[i] += o.drops[i];
  return *this;
}

std::string_view relay_drop_name(RelayDrop d) {
  switch (d) {
    case RelayDrop::kMalformed:
      return "malformed";
    case RelayDrop::kUnknownAttribute:
      return "unknown_attribute";
    case RelayDrop::kUnexpectedMessage:
      return "unexpected_message";
    case RelayDrop::kAuthFailed:
      return "auth_failed";
    case RelayDrop::kCredentialsExpired:
      return "credentials_expired";
    case RelayDrop::kStaleNonce:
      return "stale_nonce";
    case RelayDrop::kWrongCredentials:
      return "wrong_credentials";
    case RelayDrop::kAllocationMismatch:
      return "allocation_mismatch";
    case RelayDrop::kNoAllocation:
      return "no_allocation";
    case RelayDrop::kUnsupported:
      return "unsupported";
    case RelayDrop::kPeerFamilyMismatch:
      return "peer_family_mismatch";
    case RelayDrop::kQuota:
      return "quota";
    case RelayDrop::kCapacity:
      return "capacity";
    case RelayDrop::kForbiddenPeer:
      return "forbidden_peer";
    case RelayDrop::kChannelConflict:
      return "channel_conflict";
    case RelayDrop::kNoPermission:
      return "no_permission";
    case RelayDrop::kNoChannel:
      return "no_channel";
    case RelayDrop::kRateLimited:
      return "rate_limited";
    case RelayDrop::kTooLarge:
      return "too_large";
    case RelayDrop::kCount:
      break;
  }
  return "unknown";
}

std::string_view relay_method_name(RelayMethod m) {
  switch (m) {
    case RelayMethod::kBinding:
      return "binding";
    case RelayMethod::kAllocate:
      return "allocate";
    case RelayMethod::kRefresh:
      return "refresh";
    case RelayMethod::kCreatePermission:
      return "create_permission";
    case RelayMethod::kChannelBind:
      return "channel_bind";
    case RelayMethod::kCount:
      break;
  }
  return "unknown";
}

namespace {

void header(std::string& out, std::string_view name, std::string_view type, std::string_view help) {
  fmt::format_to(std::back_inserter(out), "# HELP tern_relay_{} {}\n# TYPE tern_relay_{} {}\n",
                 name, help, name, type);
}

void sample(std::string& out, std::string_view name, uint64_t value) {
  fmt::format_to(std::back_inserter(out), "tern_relay_{} {}\n", name, value);
}

void labelled(std::string& out, std::string_view name, std::string_view label,
              std::string_view label_value, uint64_t value) {
  fmt::format_to(std::back_inserter(out), "tern_relay_{}{{{}=\"{}\"}} {}\n", name, label,
                 label_value, value);
}

}  // namespace

std::string render_prometheus(const RelayCounters& c) {
  std::string out;
  out.reserve(4096);
  header(out, "allocations", "gauge", "TURN allocations now open.");
  sample(out, "allocations", c.allocations_current);
  header(out, "allocations_total", "counter", "TURN allocations created.");
  sample(out, "allocations_total", c.allocations_total);
  header(out, "allocations_expired_total", "counter",
         "TURN allocations that ended because their lifetime ran out.");
  sample(out, "allocations_expired_total", c.allocations_expired);
  header(out, "challenges_total", "counter",
         "Requests without credentials answered with 401 and a nonce.");
  sample(out, "challenges_total", c.challenges);

  header(out, "requests_total", "counter", "STUN/TURN requests received, by method.");
  for (size_t i = 0; i < kRelayMethodCount; ++i) {
    labelled(out, "requests_total", "method", relay_method_name(static_cast<RelayMethod>(i)),
             c.requests[i]);
  }
  header(out, "packets_total", "counter", "Packets relayed, by direction.");
  labelled(out, "packets_total", "direction", "to_peer", c.to_peer.packets);
  labelled(out, "packets_total", "direction", "to_client", c.to_client.packets);
  header(out, "bytes_total", "counter",
         "Application bytes relayed (without TURN, UDP or IP headers), by direction.");
  labelled(out, "bytes_total", "direction", "to_peer", c.to_peer.bytes);
  labelled(out, "bytes_total", "direction", "to_client", c.to_client.bytes);
  header(out, "drops_total", "counter",
         "Packets dropped and requests refused, by reason (docs/relay.md lists them).");
  for (size_t i = 0; i < kRelayDropCount; ++i) {
    labelled(out, "drops_total", "reason", relay_drop_name(static_cast<RelayDrop>(i)), c.drops[i]);
  }
  return out;
}

}  // namespace tern::relay

#include "relayd/relay_ports.hpp"

#include "base/log.hpp"

namespace tern::relayd {

UdpPortAllocator::UdpPortAllocator(std::vector<IpAddress> addresses, PortCursor& cursor,
                                   io::Poller& poller, uint64_t token_base)
    : addresses_(std::move(addresses)), cursor_(cursor), poller_(poller), token_base_(token_base) {}

std::optional<io::UdpSocket> UdpPortAllocator::bind_free_port(const IpAddress& address, bool even,
                                                              uint16_t& port) {
  // Ports are handed out in turn from a random start, so a port that was just
  // released is the last to be reused (late peer datagrams reach nobody).
  for (uint32_t tries = 0; tries < cursor_.range(); ++tries) {
    port = cursor_.next();
    if (even && port % 2 != 0) continue;  // EVEN-PORT (RFC 8656 §14.6)
    const Endpoint ep{address, port};
    if (by_endpoint_.contains(ep)) continue;
    auto s = io::UdpSocket::bind(ep);
    if (s) return std::move(*s);
    // In use by another process or loop: try the next; anything else will not get better.
    if (s.error().message.find("in use") == std::string::npos &&
        s.error().message.find("EADDRINUSE") == std::string::npos) {
      log::warn("relay socket on {}: {}", ep.to_string(), s.error().message);
      return std::nullopt;
    }
  }
  return std::nullopt;
}

std::optional<Endpoint> UdpPortAllocator::open(const relay::RelaySocketRequest& request) {
  const IpAddress* address = nullptr;
  for (const auto& a : addresses_) {
    if (a.family() == request.family) address = &a;
  }
  if (!address) return std::nullopt;
  uint16_t port = 0;
  auto sock = bind_free_port(*address, request.even_port, port);
  if (!sock) {
    log::warn("no free {}relay port on {} in --port-range: allocation for {} refused (508)",
              request.even_port ? "even " : "", address->to_string(), request.client.to_string());
    return std::nullopt;
  }
  if (request.dont_fragment) {
    if (auto st = sock->set_dont_fragment(true); !st) log::debug("{}", st.error().message);
  }
  uint32_t slot;
  if (!free_.empty()) {
    slot = free_.back();
    free_.pop_back();
  } else {
    slot = static_cast<uint32_t>(slots_.size());
    slots_.emplace_back();
  }
  if (auto st = poller_.add(sock->fd(), token_base_ + slot, true, false); !st) {
    log::warn("relay socket: {}", st.error().message);
    free_.push_back(slot);
    return std::nullopt;
  }
  const Endpoint relayed{*address, sock->local_port()};
  Slot& s = slots_[slot];
  s.socket = std::move(*sock);
  s.relayed = relayed;
  by_endpoint_.emplace(relayed, slot);
  log::debug("allocation {} for {} ({}) relayed at {}", request.id, request.client.to_string(),
             request.username, relayed.to_string());
  return relayed;
}

void UdpPortAllocator::close(relay::AllocationId id, const Endpoint& relayed) {
  auto it = by_endpoint_.find(relayed);
  if (it == by_endpoint_.end()) return;
  Slot& s = slots_[it->second];
  poller_.remove(s.socket->fd());
  s.socket.reset();
  ++s.generation;
  free_.push_back(it->second);
  by_endpoint_.erase(it);
  log::debug("allocation {} ended: {} closed", id, relayed.to_string());
}

io::UdpSocket* UdpPortAllocator::socket(uint64_t token, Endpoint* relayed) {
  uint64_t slot = token - token_base_;
  if (slot >= slots_.size() || !slots_[slot].socket) return nullptr;
  *relayed = slots_[slot].relayed;
  return &*slots_[slot].socket;
}

std::optional<RelaySocketRef> UdpPortAllocator::find(const Endpoint& relayed) const {
  auto it = by_endpoint_.find(relayed);
  if (it == by_endpoint_.end()) return std::nullopt;
  return RelaySocketRef{it->second, slots_[it->second].generation};
}

io::UdpSocket* UdpPortAllocator::resolve(RelaySocketRef ref) {
  if (ref.slot >= slots_.size()) return nullptr;
  Slot& s = slots_[ref.slot];
  if (s.generation != ref.generation || !s.socket) return nullptr;
  return &*s.socket;
}

}  // namespace tern::relayd

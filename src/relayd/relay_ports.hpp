// Relayed transport addresses for `tern relay`: one UDP socket per allocation,
// bound to the relay address of the allocation's family on a free port of the
// configured range (an even one when the client sent EVEN-PORT), registered with
// the event loop's poller and closed when the core ends the allocation. Sockets
// are named by a slot index and generation, so a stale reference (a socket closed
// while its datagrams waited to be sent) resolves to nothing instead of to the
// next allocation's socket.
#pragma once

#include <cstdint>
#include <optional>
#include <unordered_map>
#include <vector>

#include "base/ip.hpp"
#include "io/poller.hpp"
#include "io/udp_socket.hpp"
#include "relay/five_tuple.hpp"
#include "relay/server.hpp"
#include "relayd/loop_shared.hpp"

namespace tern::relayd {

struct RelaySocketRef {
  uint32_t slot = 0;
  uint32_t generation = 0;
};

class UdpPortAllocator final : public relay::RelayPortAllocator {
 public:
  // Poller tokens token_base + slot. Ports come from `cursor`, shared with the other loops'
  // allocators (a port another loop holds fails to bind and is skipped).
  UdpPortAllocator(std::vector<IpAddress> addresses, PortCursor& cursor, io::Poller& poller,
                   uint64_t token_base);
  ~UdpPortAllocator() override = default;

  std::optional<Endpoint> open(const relay::RelaySocketRequest& request) override;
  void close(relay::AllocationId id, const Endpoint& relayed) override;

  bool owns(uint64_t token) const { return token >= token_base_; }
  // The socket of a poller token, or nullptr (closed since).
  io::UdpSocket* socket(uint64_t token, Endpoint* relayed);
  std::optional<RelaySocketRef> find(const Endpoint& relayed) const;
  io::UdpSocket* resolve(RelaySocketRef ref);
  size_t open_count() const { return by_endpoint_.size(); }

 private:
  struct Slot {
    std::optional<io::UdpSocket> socket;
    Endpoint relayed;
    uint32_t generation = 0;
  };
  std::optional<io::UdpSocket> bind_free_port(const IpAddress& address, bool even, uint16_t& port);

  std::vector<IpAddress> addresses_;
  PortCursor& cursor_;
  io::Poller& poller_;
  uint64_t token_base_;
  std::vector<Slot> slots_;
  std::vector<uint32_t> free_;
  std::unordered_map<Endpoint, uint32_t, relay::EndpointHash> by_endpoint_;
};

}  // namespace tern::relayd

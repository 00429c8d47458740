// The agent's state, shared by its source files (setup, data path, UAPI server).
// Internal to agent/.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "agent/agent.hpp"
#include "agent/control_link.hpp"
#include "agent/relay_link.hpp"
#include "agent/routing.hpp"
#include "agent/uapi_server.hpp"
#include "core/device.hpp"
#include "io/netlink.hpp"
#include "io/poller.hpp"
#include "io/signals.hpp"
#include "io/tun.hpp"
#include "io/udp_socket.hpp"
#include "io/unix_socket.hpp"
#include "wire/gro.hpp"

namespace tern::agent {

// Poller tokens: fixed ones, then one per UAPI connection from kTokenConnectionBase up.
inline constexpr uint64_t kTokenTun = 1;
inline constexpr uint64_t kTokenUdp = 2;
inline constexpr uint64_t kTokenSignal = 3;
inline constexpr uint64_t kTokenUapiListener = 4;
inline constexpr uint64_t kTokenControl = 5;  // the control server's connection
inline constexpr uint64_t kTokenRelay = 6;    // the TURN relay's socket ([Relay])
inline constexpr uint64_t kTokenConnectionBase = 1000;

// Datagrams (or, with UDP GRO, trains of datagrams) per UDP receive.
inline constexpr size_t kBatchSize = 64;
// Packets encrypted and sent per batch: a TUN frame with TSO carries up to ~45.
inline constexpr size_t kTunSlots = 128;
// Packets the TUN GRO coalescer takes before it writes.
inline constexpr size_t kGroCapacity = 1024;

struct Agent::State {
  State(core::Device&& dev) = delete;
  State(const crypto::Key& private_key, io::Tun t, io::UdpSocket u, io::Netlink n, io::Poller p,
        io::SignalFd s, uint32_t interface_mtu)
      : device(private_key),
        tun(std::move(t)),
        udp(std::move(u)),
        netlink(std::move(n)),
        poller(std::move(p)),
        signals(std::move(s)),
        mtu(interface_mtu),
        recv(kBatchSize, 65536),
        send(2 * kTunSlots),
        gro(kGroCapacity) {}

  std::string name;
  int ifindex = 0;
  core::Device device;
  io::Tun tun;
  io::UdpSocket udp;
  io::Netlink netlink;
  io::Poller poller;
  io::SignalFd signals;
  std::unique_ptr<UapiServer> uapi;
  uint32_t mtu;
  uint32_t fwmark = 0;  // SO_MARK of the UDP socket (FwMark, the policy table, `wg set fwmark`)
  std::unique_ptr<PolicyRules> policy_rules;  // a full tunnel's rules; deleted with the state
  std::unique_ptr<ControlLink> control;       // `tern up --control`: the map's source
  std::unique_ptr<RelayLink> relay;           // [Relay]: the allocation relayed peers use

  // Data-path buffers, allocated once.
  io::RecvBatch recv;
  io::SendBatch send;
  // Each slot has kRelayHeadroom before and kRelayTailroom after the message, so a relayed
  // peer's message is framed in place.
  size_t slot_size = 0;
  std::vector<uint8_t> tun_slots;   // kTunSlots slots of slot_size bytes
  std::vector<size_t> tun_lens;     // the packet length in each slot
  std::vector<uint8_t> ctrl_slots;  // copies of poll_transmit() output awaiting sendmmsg
  size_t ctrl_used = 0;
  // TUN offloads (datapath.cpp): whole frames with a virtio-net header are read into
  // tun_frame and cut into the slots; received TCP (and UDP) packets are coalesced by `gro`.
  bool tun_frames = false;
  bool tun_gro = false;
  std::vector<uint8_t> tun_frame;
  wire::Gro gro;
};

}  // namespace tern::agent

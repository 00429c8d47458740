// The UDP listeners of `tern relay`'s event loops. With several loops every listen address
// gets one socket per loop, all bound with SO_REUSEPORT: the kernel hashes each datagram's
// 4-tuple to one socket of the group, so a client always reaches the same loop, which owns
// its allocations outright. One loop binds a plain socket, as before.
#pragma once

#include <vector>

#include "base/ip.hpp"
#include "base/result.hpp"
#include "io/udp_socket.hpp"

namespace tern::relayd {

// The receive and send buffers every listener asks for. A listener carries every client of its
// loop: a moment without CPU must not overflow it (see relay_loop.cpp).
inline constexpr int kListenerBuffer = 16 << 20;

// `count` sockets on `at` (port 0: one ephemeral port for all of them), nonblocking, with
// kListenerBuffer-sized buffers. Fails, naming the address, when another process holds it.
[[nodiscard]] Result<std::vector<io::UdpSocket>> bind_listener_group(const Endpoint& at,
                                                                     size_t count);

// The receive buffer the kernel granted a listener, in bytes of data (it counts twice that
// with its overhead): below kListenerBuffer when net.core.rmem_max capped it and the relay
// could not pass the cap with SO_RCVBUFFORCE (which needs root or CAP_NET_ADMIN).
[[nodiscard]] int listener_receive_buffer(const io::UdpSocket& socket);

}  // namespace tern::relayd

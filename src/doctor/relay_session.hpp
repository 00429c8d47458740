// The sockets of one relay check: the "client" socket that talks to the TURN server, and
// the "peer" socket that stands for a remote peer and echoes what the relay delivers. One
// epoll wait for both; datagrams go to the caller's handlers with the time they arrived.
// Over TCP or TLS the client talks to the server on a RelayStream instead, and each frame
// from it reaches on_client as if it were a datagram from the server.
#pragma once

#include <functional>
#include <optional>

#include "base/bytes.hpp"
#include "base/ip.hpp"
#include "base/result.hpp"
#include "base/time.hpp"
#include "doctor/relay_stream.hpp"
#include "io/poller.hpp"
#include "io/udp_socket.hpp"

namespace tern::doctor {

class RelaySession {
 public:
  using Handler = std::function<void(const Endpoint& from, Bytes data, Instant now)>;

  // Binds both sockets on ephemeral ports, for the family of `server`.
  [[nodiscard]] static Result<RelaySession> open(const Endpoint& server);

  // From now on the client's messages go on `stream` (any `to`), and its frames come back
  // through on_client.
  [[nodiscard]] Status attach_stream(RelayStream stream);
  const RelayStream* stream() const { return stream_ ? &*stream_ : nullptr; }
  // Why the stream ended, once it did (the server closed it, a reset, not STUN).
  const std::string& stream_error() const { return stream_error_; }
  uint16_t peer_port() const { return peer_.local_port(); }
  // The kernel's path MTU towards `to` (IP_MTU of a connected UDP socket), if it can say.
  std::optional<size_t> path_mtu(const Endpoint& to) const;

  // 0 when sent, else the errno that dropped the datagram (EMSGSIZE with DONT-FRAGMENT).
  int send_from_client(const Endpoint& to, Bytes data);
  int send_from_peer(const Endpoint& to, Bytes data);

  // Sets DF on both sockets (no local fragmentation), for the largest-packet search.
  [[nodiscard]] Status set_dont_fragment(bool on);

  // Waits at most until `deadline`, handing every datagram that arrives meanwhile to the
  // handlers; returns after the first batch or at the deadline.
  [[nodiscard]] Status poll(Instant deadline);

  Handler on_client;
  Handler on_peer;

 private:
  RelaySession(io::UdpSocket client, io::UdpSocket peer, io::Poller poller);
  int send(io::UdpSocket& socket, const Endpoint& to, Bytes data);
  Status drain(io::UdpSocket& socket, const Handler& handler);
  Status service_stream(bool readable, bool writable);
  void watch_stream();

  io::UdpSocket client_;
  io::UdpSocket peer_;
  io::Poller poller_;
  io::RecvBatch recv_;
  io::SendBatch send_;
  std::optional<RelayStream> stream_;
  bool stream_watching_write_ = false;
  std::string stream_error_;
};

}  // namespace tern::doctor

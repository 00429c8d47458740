#include "doctor/relay_session.hpp"

#include <netinet/in.h>
#include <sys/socket.h>

#include <array>
#include <cerrno>

#include "io/clock.hpp"
#include "io/fd.hpp"
#include "io/sockaddr.hpp"

namespace tern::doctor {
namespace {

constexpr uint64_t kClientToken = 1;
constexpr uint64_t kPeerToken = 2;
constexpr uint64_t kStreamToken = 3;
// Room for the largest UDP datagram, so the largest-packet search is never truncated.
constexpr size_t kRecvBufferSize = 65536;

Result<io::UdpSocket> bind_for(const Endpoint& server) {
  // An IPv4 server gets an IPv4 socket: the addresses the report shows are then plain.
  const IpAddress any = server.address.is_v4() ? IpAddress::v4(0u) : IpAddress::v6({});
  return io::UdpSocket::bind(Endpoint{any, 0});
}

}  // namespace

RelaySession::RelaySession(io::UdpSocket client, io::UdpSocket peer, io::Poller poller)
    : client_(std::move(client)),
      peer_(std::move(peer)),
      poller_(std::move(poller)),
      recv_(16, kRecvBufferSize),
      send_(1) {}

Result<RelaySession> RelaySession::open(const Endpoint& server) {
  auto client = bind_for(server);
  if (!client) return tl::unexpected(client.error());
  auto peer = bind_for(server);
  if (!peer) return tl::unexpected(peer.error());
  auto poller = io::Poller::create();
  if (!poller) return tl::unexpected(poller.error());
  if (auto s = poller->add(client->fd(), kClientToken, true, false); !s) {
    return tl::unexpected(s.error());
  }
  if (auto s = poller->add(peer->fd(), kPeerToken, true, false); !s) {
    return tl::unexpected(s.error());
  }
  return RelaySession(std::move(*client), std::move(*peer), std::move(*poller));
}

int RelaySession::send(io::UdpSocket& socket, const Endpoint& to, Bytes data) {
  send_.clear();
  if (!send_.add(to, data)) return ENOBUFS;
  auto n = socket.send(send_);
  if (!n) return EBADF;
  if (*n == 0) return EAGAIN;  // the socket buffer is full: the datagram is lost
  return send_.error(0);
}

int RelaySession::send_from_client(const Endpoint& to, Bytes data) {
  if (stream_) {
    if (!stream_error_.empty()) return EPIPE;
    const int err = stream_->send(data);
    watch_stream();
    return err;
  }
  return send(client_, to, data);
}

Status RelaySession::attach_stream(RelayStream stream) {
  const int fd = stream.fd();
  stream_.emplace(std::move(stream));
  stream_watching_write_ = stream_->wants_write();
  return poller_.add(fd, kStreamToken, true, stream_watching_write_);
}

// Asks for writability only while the stream has bytes queued (level-triggered epoll would
// otherwise wake at once, every time).
void RelaySession::watch_stream() {
  if (!stream_ || !stream_error_.empty()) return;
  const bool want = stream_->wants_write();
  if (want == stream_watching_write_) return;
  if (poller_.modify(stream_->fd(), kStreamToken, true, want)) stream_watching_write_ = want;
}

Status RelaySession::service_stream(bool readable, bool writable) {
  if (!stream_ || !stream_error_.empty()) return {};
  Status s;
  if (writable) s = stream_->flush();
  if (s && readable) {
    const Endpoint server = stream_->server();
    s = stream_->receive([&](Bytes frame) {
      if (on_client) on_client(server, frame, io::monotonic_now());
    });
  }
  if (!s) {
    // The check goes on to report it; the stream is not polled again.
    stream_error_ = s.error().message;
    poller_.remove(stream_->fd());
    return {};
  }
  watch_stream();
  return {};
}

int RelaySession::send_from_peer(const Endpoint& to, Bytes data) {
  return send(peer_, to, data);
}

std::optional<size_t> RelaySession::path_mtu(const Endpoint& to) const {
  const bool v6 = !to.address.unmapped().is_v4();
  io::UniqueFd fd(::socket(v6 ? AF_INET6 : AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!fd) return std::nullopt;
  sockaddr_storage ss{};
  const socklen_t len = io::to_sockaddr(to, v6, ss);
  if (len == 0 || ::connect(fd.get(), reinterpret_cast<sockaddr*>(&ss), len) != 0) {
    return std::nullopt;
  }
  int mtu = 0;
  socklen_t mlen = sizeof mtu;
  if (::getsockopt(fd.get(), v6 ? IPPROTO_IPV6 : IPPROTO_IP, v6 ? IPV6_MTU : IP_MTU, &mtu, &mlen) !=
          0 ||
      mtu < 576) {
    return std::nullopt;
  }
  return static_cast<size_t>(mtu);
}

Status RelaySession::set_dont_fragment(bool on) {
  if (auto s = client_.set_dont_fragment(on); !s) return s;
  return peer_.set_dont_fragment(on);
}

Status RelaySession::drain(io::UdpSocket& socket, const Handler& handler) {
  for (;;) {
    auto n = socket.recv(recv_);
    if (!n) return tl::unexpected(n.error());
    if (*n == 0) return {};
    const Instant now = io::monotonic_now();
    for (size_t i = 0; i < *n; ++i) {
      // GRO is never switched on here: each entry is one datagram.
      if (recv_.truncated(i)) continue;
      if (handler) handler(recv_.from(i), recv_.data(i), now);
    }
  }
}

Status RelaySession::poll(Instant deadline) {
  const Instant now = io::monotonic_now();
  const Duration wait = deadline > now ? deadline - now : Duration::zero();
  std::array<io::Ready, 4> ready{};
  auto n = poller_.wait(wait, ready);
  if (!n) return tl::unexpected(n.error());
  for (size_t i = 0; i < *n; ++i) {
    if (ready[i].token == kStreamToken) {
      (void)service_stream(ready[i].readable || ready[i].error, ready[i].writable);
      continue;
    }
    auto& socket = ready[i].token == kClientToken ? client_ : peer_;
    const auto& handler = ready[i].token == kClientToken ? on_client : on_peer;
    if (auto s = drain(socket, handler); !s) return s;
  }
  return {};
}

}  // namespace tern::doctor

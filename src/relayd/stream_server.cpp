#include "relayd/stream_server.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "base/log.hpp"
#include "io/sockaddr.hpp"
#include "relayd/stream_io.hpp"

namespace tern::relayd {
namespace {

constexpr size_t kReadChunk = 16 * 1024;
constexpr int kReadsPerWakeup = 4;  // so one busy connection cannot starve the rest
constexpr int kTlsReadsPerWakeup = 1024;
constexpr size_t kMaxListeners = 64;
constexpr Duration kSweep = std::chrono::seconds(1);

uint16_t be16(const uint8_t* p) {
  return static_cast<uint16_t>(p[0] << 8 | p[1]);
}

}  // namespace

struct StreamServer::Connection {
  relay::FiveTuple tuple;
  StreamIo io;
  std::vector<uint8_t> in;  // [start, end) received, not yet framed
  size_t start = 0;
  size_t end = 0;
  std::vector<uint8_t> out;  // [sent, out.size()) queued for the kernel
  size_t sent = 0;
  bool writing = false;  // EPOLLOUT is on
  bool framed = false;   // a whole frame has arrived
  bool broken = false;   // a write failed: close after the current read
  bool reading = false;  // inside read(): close later, not now
  Instant last_frame{};
};

StreamServer::StreamServer(relay::Transport transport, const TlsContext* tls, io::Poller& poller,
                           uint64_t token_base, const StreamLimits& limits)
    : transport_(transport),
      tls_(tls),
      poller_(&poller),
      token_base_(token_base),
      limits_(limits) {}

StreamServer::~StreamServer() {
  for (auto& c : slots_) {
    if (!c) continue;
    poller_->remove(c->io.fd());
    give_shared_slot();
  }
  for (auto& l : listeners_)
    poller_->remove(l.get());
}

Result<std::unique_ptr<StreamServer>> StreamServer::listen(
    std::span<const Endpoint> at, relay::Transport transport, const TlsContext* tls,
    io::Poller& poller, uint64_t token_base, const StreamLimits& limits, std::string_view option) {
  if (at.size() > kMaxListeners) return fail(std::string(option) + ": too many addresses");
  std::unique_ptr<StreamServer> s(new StreamServer(transport, tls, poller, token_base, limits));
  const std::string what = transport == relay::Transport::kTls ? "TLS" : "TCP";
  for (const auto& ep : at) {
    const bool v6 = ep.address.is_v6();
    io::UniqueFd fd(
        ::socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!fd) return fail(what + " socket: " + strerror(errno));
    int one = 1;
    (void)::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (limits.reuse_port &&
        ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0) {
      return fail(what + " socket: SO_REUSEPORT: " + strerror(errno));
    }
    if (v6) (void)::setsockopt(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    sockaddr_storage ss{};
    socklen_t len = io::to_sockaddr(ep, v6, ss);
    if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&ss), len) != 0 ||
        ::listen(fd.get(), 128) != 0) {
      int err = errno;
      return fail(std::string(option) + " " + ep.to_string() + ": cannot listen for " + what +
                  " there: " + strerror(err) +
                  (err == EADDRINUSE      ? " (another process has that port: choose another, or "
                                            "--no-tcp for UDP only)"
                   : err == EACCES        ? " (a port below 1024 needs root)"
                   : err == EADDRNOTAVAIL ? " (no interface has that address)"
                                          : ""));
    }
    sockaddr_storage bound{};
    socklen_t blen = sizeof bound;
    Endpoint b = ep;
    if (::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&bound), &blen) == 0) {
      b = io::from_sockaddr(bound);
    }
    if (auto st = poller.add(fd.get(), token_base + s->listeners_.size(), true, false); !st) {
      return fail(st.error().message);
    }
    s->listeners_.push_back(std::move(fd));
    s->bound_.push_back(b);
  }
  s->slots_.resize(limits.max_connections);
  for (size_t i = limits.max_connections; i > 0; --i)
    s->free_.push_back(i - 1);
  return s;
}

void StreamServer::ready(const io::Ready& event, Instant now, StreamSink& sink) {
  const uint64_t i = event.token - token_base_;
  if (i < listeners_.size()) {
    accept_all(i, now);
    return;
  }
  const size_t slot = i - listeners_.size();
  if (slot >= slots_.size() || !slots_[slot]) return;  // closed earlier in this batch
  if (event.writable) write(slot);
  // A TLS handshake that waited for writability goes on in read().
  const bool handshake = tls_ && event.writable;
  if (slots_[slot] && (event.readable || event.error || handshake)) read(slot, now, sink);
}

void StreamServer::accept_all(size_t listener, Instant now) {
  for (int n = 0; n < 64; ++n) {
    sockaddr_storage peer{};
    socklen_t plen = sizeof peer;
    io::UniqueFd fd(::accept4(listeners_[listener].get(), reinterpret_cast<sockaddr*>(&peer), &plen,
                              SOCK_NONBLOCK | SOCK_CLOEXEC));
    if (!fd) {
      if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR && errno != ECONNABORTED) {
        log::warn("accept on {}: {}", bound_[listener].to_string(), strerror(errno));
      }
      return;
    }
    if (free_.empty() || !take_shared_slot()) {
      ++counters_.refused;  // closed at once, so the backlog never fills with waiting clients
      continue;
    }
    sockaddr_storage local{};
    socklen_t llen = sizeof local;
    Endpoint server = bound_[listener];
    if (::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&local), &llen) == 0) {
      server = io::from_sockaddr(local);
    }
    int one = 1;
    (void)::setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    auto io = StreamIo::make(std::move(fd), tls_);
    if (!io) {
      give_shared_slot();
      log::warn("{} connection from {}: {}", relay::transport_name(transport_),
                io::from_sockaddr(peer).to_string(), io.error().message);
      continue;
    }
    const size_t slot = free_.back();
    auto c = std::make_unique<Connection>();
    c->tuple = relay::FiveTuple{io::from_sockaddr(peer), server, transport_};
    c->io = std::move(*io);
    c->last_frame = now;
    if (!poller_->add(c->io.fd(), slot_token(slot), true, false)) {
      give_shared_slot();
      continue;
    }
    free_.pop_back();
    by_tuple_[c->tuple] = slot;
    slots_[slot] = std::move(c);
    ++counters_.accepted;
    if (!next_sweep_) next_sweep_ = now + kSweep;
  }
}

void StreamServer::read(size_t slot, Instant now, StreamSink& sink) {
  Connection& c = *slots_[slot];
  c.reading = true;
  bool closing = false;
  // TLS may hold decrypted bytes the socket no longer signals: it is read until it would block.
  const int rounds = tls_ ? kTlsReadsPerWakeup : kReadsPerWakeup;
  for (int round = 0; round < rounds && !closing && !c.broken; ++round) {
    // Room for the next read: move what is left to the front, then grow up to one frame.
    if (c.start > 0 && (c.start == c.end || c.in.size() - c.end < kReadChunk)) {
      std::memmove(c.in.data(), c.in.data() + c.start, c.end - c.start);
      c.end -= c.start;
      c.start = 0;
    }
    const size_t cap = limits_.max_frame + 3;  // ChannelData padding
    if (c.in.size() - c.end < kReadChunk && c.in.size() < cap) {
      c.in.resize(std::min(cap, std::max(c.in.size() * 2, c.end + kReadChunk)));
    }
    auto got = c.io.read(MutableBytes(c.in.data() + c.end, c.in.size() - c.end));
    if (got.wants_write) want_write(c, true);  // the TLS handshake has bytes to send
    if (got.status == StreamIo::kWouldBlock) break;
    if (got.status != StreamIo::kOk) {
      if (got.status == StreamIo::kTlsError) ++counters_.closed_tls;
      closing = true;
      break;
    }
    c.end += got.bytes;
    while (!closing) {
      Bytes head(c.in.data() + c.start, c.end - c.start);
      auto size = wire::stream_frame_size(head, limits_.max_frame);
      if (!size) {
        log::debug("{}: closing: {}", c.tuple.to_string(),
                   wire::stream_framing_error_name(size.error()));
        ++counters_.closed_framing;
        closing = true;
        break;
      }
      if (!*size || **size > head.size()) break;
      // ChannelData goes to the core without its stream padding.
      size_t length = **size;
      if ((head[0] & 0xC0) == 0x40) length = 4 + be16(head.data() + 2);
      c.framed = true;
      c.last_frame = now;
      c.start += **size;
      sink.on_frame(c.tuple, head.first(length), now);
      if (c.broken) break;
    }
    if (got.bytes == 0 && !got.wants_write) break;  // TLS: a record not yet whole
  }
  c.reading = false;
  if (closing || c.broken) close(slot, sink);
}

bool StreamServer::send(const Endpoint& client, const Endpoint& server, Bytes frame) {
  auto it = by_tuple_.find(relay::FiveTuple{client, server, transport_});
  if (it == by_tuple_.end()) {
    ++counters_.dropped_frames;
    return false;
  }
  Connection& c = *slots_[it->second];
  if (c.broken) return false;
  size_t done = 0;
  if (c.sent == c.out.size() && !c.writing) {
    auto put = c.io.write(frame);
    if (put.status == StreamIo::kOk) {
      done = put.bytes;
      if (done == frame.size()) return true;
    } else if (put.status != StreamIo::kWouldBlock) {
      c.broken = true;  // closed by the read that follows, or the next sweep
      next_sweep_ = std::min(next_sweep_.value_or(Instant::max()), Instant{});
      ++counters_.dropped_frames;
      return false;
    }
  }
  if (c.out.size() - c.sent + frame.size() - done > limits_.max_queued) {
    // Only a whole frame may go on the stream, so a partly written one must be finished.
    if (done == 0) {
      ++counters_.dropped_frames;
      return false;
    }
  }
  if (c.sent > 0 && c.sent == c.out.size()) {
    c.out.clear();
    c.sent = 0;
  }
  c.out.insert(c.out.end(), frame.begin() + static_cast<ptrdiff_t>(done), frame.end());
  want_write(c, true);
  return true;
}

size_t StreamServer::queued(const Endpoint& client, const Endpoint& server) const {
  auto it = by_tuple_.find(relay::FiveTuple{client, server, transport_});
  if (it == by_tuple_.end()) return 0;
  const Connection& c = *slots_[it->second];
  return c.out.size() - c.sent;
}

void StreamServer::write(size_t slot) {
  Connection& c = *slots_[slot];
  while (c.sent < c.out.size()) {
    auto put = c.io.write(Bytes(c.out.data() + c.sent, c.out.size() - c.sent));
    if (put.status == StreamIo::kWouldBlock) return;
    if (put.status != StreamIo::kOk) {
      c.broken = true;  // the read that follows the error event closes it
      want_write(c, false);
      return;
    }
    c.sent += put.bytes;
  }
  c.out.clear();
  c.sent = 0;
  // A TLS handshake may still want to write with nothing queued.
  want_write(c, c.io.wants_write());
}

void StreamServer::want_write(Connection& c, bool on) {
  if (c.writing == on) return;
  c.writing = on;
  auto it = by_tuple_.find(c.tuple);
  if (it == by_tuple_.end()) return;
  (void)poller_->modify(c.io.fd(), slot_token(it->second), true, on);
}

void StreamServer::close(size_t slot, StreamSink& sink) {
  std::unique_ptr<Connection> c = std::move(slots_[slot]);
  poller_->remove(c->io.fd());
  by_tuple_.erase(c->tuple);
  free_.push_back(slot);
  give_shared_slot();
  sink.on_closed(c->tuple);
}

bool StreamServer::take_shared_slot() {
  if (!limits_.open_total) return true;
  if (limits_.open_total->fetch_add(1) < limits_.max_connections) return true;
  limits_.open_total->fetch_sub(1);
  return false;
}

void StreamServer::give_shared_slot() {
  if (limits_.open_total) limits_.open_total->fetch_sub(1);
}

void StreamServer::expire(Instant now, StreamSink& sink) {
  if (!next_sweep_ || now < *next_sweep_) return;
  for (size_t i = 0; i < slots_.size(); ++i) {
    Connection* c = slots_[i].get();
    if (!c) continue;
    const Duration limit = c->framed ? limits_.idle : limits_.first_frame;
    if (c->broken || now - c->last_frame >= limit) {
      if (!c->broken) ++counters_.closed_idle;
      close(i, sink);
    }
  }
  next_sweep_ = by_tuple_.empty() ? std::nullopt : std::optional<Instant>(now + kSweep);
}

std::optional<Instant> StreamServer::next_deadline() const {
  return next_sweep_;
}

void StreamServer::close_all(StreamSink& sink) {
  for (size_t i = 0; i < slots_.size(); ++i) {
    if (slots_[i]) close(i, sink);
  }
  next_sweep_.reset();
}

}  // namespace tern::relayd

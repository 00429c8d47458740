#include "doctor/relay_stream.hpp"

#include <cerrno>

#include <fmt/format.h>

#include "io/clock.hpp"
#include "io/poller.hpp"

namespace tern::doctor {
namespace {

using Failure = RelayStreamFailure;

tl::unexpected<Failure> failure(Failure::Step step, std::string message) {
  return tl::unexpected(Failure{step, std::move(message)});
}

// Waits until `fd` is ready for `wait` or `deadline` passes; false on timeout.
bool wait_for(io::Poller& poller, int fd, io::IoWait wait, Instant deadline) {
  const Instant now = io::monotonic_now();
  if (now >= deadline) return false;
  if (!poller.modify(fd, 1, wait == io::IoWait::kRead, wait == io::IoWait::kWrite)) return false;
  std::array<io::Ready, 1> ready{};
  auto n = poller.wait(deadline - now, ready);
  return n && *n > 0;
}

double ms(Duration d) {
  return static_cast<double>(d.count()) / 1e6;
}

}  // namespace

tl::expected<RelayStream, RelayStreamFailure> RelayStream::connect(const Endpoint& server,
                                                                   const RelayStreamSetup& setup) {
  const Instant start = io::monotonic_now();
  const Instant deadline = start + setup.timeout;
  auto tcp = io::TcpStream::connect(server);
  if (!tcp) return failure(Failure::Step::kConnect, tcp.error().message);
  auto poller = io::Poller::create();
  if (!poller) return failure(Failure::Step::kConnect, poller.error().message);
  if (auto s = poller->add(tcp->fd(), 1, false, true); !s) {
    return failure(Failure::Step::kConnect, s.error().message);
  }
  for (;;) {
    auto done = tcp->finish_connect();
    if (!done) return failure(Failure::Step::kConnect, done.error().message);
    if (*done) break;
    if (!wait_for(*poller, tcp->fd(), io::IoWait::kWrite, deadline)) {
      return failure(Failure::Step::kConnect,
                     fmt::format("connecting to {} over TCP timed out after {:.1f} s: a firewall "
                                 "drops the SYN, or the host is down",
                                 server.to_string(), ms(io::monotonic_now() - start) / 1000));
    }
  }
  RelayStreamFacts facts;
  facts.connect_time = io::monotonic_now() - start;
  (void)tcp->set_no_delay(true);
  if (!setup.tls) {
    RelayStream out(server, std::move(*tcp), std::nullopt);
    out.facts_ = facts;
    return out;
  }
  // Insecure, so a bad certificate is reported rather than fatal; verification still runs
  // against the trusted CAs and its result lands in the certificate facts.
  auto ctx = io::TlsContext::client({setup.ca_file, true});
  if (!ctx) return failure(Failure::Step::kTls, ctx.error().message);
  const int fd = tcp->fd();
  auto tls = io::TlsStream::client(*ctx, std::move(*tcp), setup.server_name);
  if (!tls) return failure(Failure::Step::kTls, tls.error().message);
  const Instant handshake_start = io::monotonic_now();
  for (;;) {
    auto step = tls->handshake();
    if (!step) return failure(Failure::Step::kTls, step.error().message);
    if (!step->would_block()) break;
    if (!wait_for(*poller, fd, step->wait, deadline)) {
      return failure(Failure::Step::kTls,
                     fmt::format("the TLS handshake with {} did not finish within {:.1f} s: the "
                                 "port may serve plain TURN, which waits for a STUN message",
                                 server.to_string(), ms(setup.timeout) / 1000));
    }
  }
  facts.handshake_time = io::monotonic_now() - handshake_start;
  facts.protocol = tls->protocol();
  facts.cipher = tls->cipher();
  facts.certificate = tls->peer_certificate();
  RelayStream out(server, std::nullopt, std::move(*tls));
  out.facts_ = facts;
  return out;
}

int RelayStream::fd() const {
  return tls_ ? tls_->fd() : tcp_->fd();
}

bool RelayStream::wants_write() const {
  return out_start_ < out_.size() || read_wants_write_;
}

Result<io::IoResult> RelayStream::read(MutableBytes buf) {
  return tls_ ? tls_->read(buf) : tcp_->read(buf);
}

Result<io::IoResult> RelayStream::write(Bytes data) {
  return tls_ ? tls_->write(data) : tcp_->write(data);
}

int RelayStream::send(Bytes frame) {
  if (out_.size() - out_start_ + frame.size() > kMaxQueued) return ENOBUFS;
  if (out_start_ == out_.size()) {
    out_.clear();
    out_start_ = 0;
  }
  out_.insert(out_.end(), frame.begin(), frame.end());
  if (auto s = flush(); !s) return EPIPE;
  return 0;
}

Status RelayStream::flush() {
  while (out_start_ < out_.size()) {
    auto w = write(Bytes(out_).subspan(out_start_));
    if (!w) return tl::unexpected(w.error());
    if (w->would_block()) break;
    out_start_ += w->bytes;
  }
  // Keep the buffer from growing without bound while the socket takes part of it.
  if (out_start_ > 0 && out_start_ == out_.size()) {
    out_.clear();
    out_start_ = 0;
  }
  return {};
}

Status RelayStream::receive(const std::function<void(Bytes)>& on_frame) {
  read_wants_write_ = false;
  for (;;) {
    auto r = read(in_);
    if (!r) return tl::unexpected(r.error());
    if (r->closed) {
      return fail(fmt::format("the server {} closed the {} connection", server_.to_string(),
                              tls_ ? "TLS" : "TCP"));
    }
    if (r->would_block()) {
      read_wants_write_ = r->wait == io::IoWait::kWrite;
      return {};
    }
    Bytes data(in_.data(), r->bytes);
    while (!data.empty()) {
      const size_t taken = framer_.feed(data);
      data = data.subspan(taken);
      bool any = false;
      for (;;) {
        auto frame = framer_.next();
        if (!frame) {
          return fail(
              fmt::format("the server {} sent bytes that are not STUN or ChannelData ({}) "
                          "on the {} stream",
                          server_.to_string(), wire::stream_framing_error_name(frame.error()),
                          tls_ ? "TLS" : "TCP"));
        }
        if (!*frame) break;
        any = true;
        if (on_frame) on_frame((*frame)->bytes);
      }
      if (taken == 0 && !any) return fail("a frame from the server is larger than allowed");
    }
  }
}

}  // namespace tern::doctor

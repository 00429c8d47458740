// TURN over TCP or TLS for the agent's relay: a nonblocking connect (and handshake), a write
// queue reserved once, and frames split off the stream (wire/stun_tcp_framing.hpp) handed to
// the link's socket.
#include "agent/relay_stream.hpp"

#include <algorithm>
#include <cctype>

#include <fmt/core.h>

#include "base/log.hpp"

namespace tern::agent {
namespace {

constexpr uint64_t kTokenInbox = 1;
constexpr uint64_t kTokenStream = 2;
// Reconnects start at 1 s and double up to 30 s; a connection that allocated resets it.
constexpr Duration kFirstBackoff = std::chrono::seconds(1);
constexpr Duration kMaxBackoff = std::chrono::seconds(30);
// Frames waiting for the socket: beyond this, new ones are refused (counted as send failures).
constexpr size_t kOutQueue = 1 << 20;
constexpr size_t kReadChunk = 65536;

// A certificate this host cannot trust: name the [Relay] key that fixes it (the TLS layer's
// text speaks of the doctor's --ca-file).
std::string with_relay_fix(std::string text) {
  constexpr std::string_view kFlag = "--ca-file";
  if (auto at = text.find(kFlag); at != std::string::npos) {
    text.replace(at, kFlag.size(), "CA = /path/ca.pem in [Relay]");
  }
  return text;
}

}  // namespace

bool relay_url_is_tcp(std::string_view url) {
  const size_t q = url.find('?');
  if (q == std::string_view::npos) return false;
  const std::string_view query = url.substr(q + 1);
  constexpr std::string_view kTcp = "transport=tcp";
  return query.size() == kTcp.size() &&
         std::equal(query.begin(), query.end(), kTcp.begin(), [](char a, char b) {
           return std::tolower(static_cast<unsigned char>(a)) == b;
         });
}

RelayStream::RelayStream(const Endpoint& server, io::Poller poller, io::UdpSocket bridge,
                         Endpoint inbox, RelayStreamOptions options)
    : server_(server),
      poller_(std::move(poller)),
      bridge_(std::move(bridge)),
      inbox_(inbox),
      source_(Endpoint{IpAddress::v4({127, 0, 0, 1}), bridge_.local_port()}),
      options_(std::move(options)),
      in_(kReadChunk),
      handover_(64) {
  out_.reserve(kOutQueue);
}

Result<RelayStream> RelayStream::open(const Endpoint& server, int inbox_fd, uint16_t inbox_port,
                                      RelayStreamOptions options) {
  auto poller = io::Poller::create();
  if (!poller) return fail("the relay's poller: " + poller.error().message);
  auto bridge = io::UdpSocket::bind(Endpoint{IpAddress::v4({127, 0, 0, 1}), 0});
  if (!bridge) return fail("the relay's loopback socket: " + bridge.error().message);
  if (auto st = poller->add(inbox_fd, kTokenInbox, true, false); !st)
    return fail(st.error().message);
  return RelayStream(server, std::move(*poller), std::move(*bridge),
                     Endpoint{IpAddress::v4({127, 0, 0, 1}), inbox_port}, std::move(options));
}

bool RelayStream::connected() const {
  if (tls_) return tls_->handshake_done();
  return tcp_ && tcp_->connected();
}

void RelayStream::connect(Instant now) {
  if (!down() || now < retry_at_) return;
  auto s = io::TcpStream::connect(server_, io::TcpConnectOptions{.mark = options_.mark});
  if (!s) {
    drop(now, s.error().message);
    return;
  }
  if (options_.tls) {
    auto t = io::TlsStream::client(*options_.tls, std::move(*s), options_.server_name);
    if (!t) {
      drop(now, t.error().message);
      return;
    }
    tls_.emplace(std::move(*t));
    tls_wait_ = io::IoWait::kWrite;
  } else {
    tcp_ = std::move(*s);
  }
  framer_ = wire::StunStreamFramer();
  in_start_ = in_end_ = 0;
  out_.clear();
  out_start_ = 0;
  if (auto st = poller_.add(sock(), kTokenStream, true, true); !st) {
    drop(now, st.error().message);
    return;
  }
  watching_write_ = true;
}

void RelayStream::drop(Instant now, std::string_view why) {
  if (!down()) {
    const bool was_up = connected();
    log::warn("relay: the {} connection to {} {}: {}", kind(), server_.to_string(),
              was_up ? "ended" : "failed", why);
    poller_.remove(sock());
    if (tls_) tls_->shutdown();
    tls_.reset();
    tcp_.reset();
    lost_ = true;
  } else {
    log::warn("relay: connecting to {} over {} failed: {}", server_.to_string(), kind(), why);
  }
  ++failures_;
  last_error_ = std::string(why);
  backoff_ = backoff_ == Duration{} ? kFirstBackoff : std::min(backoff_ * 2, kMaxBackoff);
  retry_at_ = now + backoff_;
  watching_write_ = false;
}

void RelayStream::watch() {
  if (down()) return;
  const bool want = !connected() || out_start_ < out_.size() || tls_wait_ == io::IoWait::kWrite;
  if (want == watching_write_) return;
  if (poller_.modify(sock(), kTokenStream, true, want)) watching_write_ = want;
}

Result<io::IoResult> RelayStream::read_some(MutableBytes buf) {
  if (!tls_) return tcp_->read(buf);
  auto r = tls_->read(buf);
  if (r) tls_wait_ = r->wait;
  return r;
}

Result<io::IoResult> RelayStream::write_some(Bytes data) {
  return tls_ ? tls_->write(data) : tcp_->write(data);
}

bool RelayStream::finish(Instant now) {
  if (tls_) {
    auto r = tls_->handshake();
    if (!r) {
      drop(now, with_relay_fix(r.error().message));
      return false;
    }
    tls_wait_ = r->wait;
    if (r->would_block()) {
      watch();
      return false;
    }
    return true;
  }
  auto done = tcp_->finish_connect();
  if (!done) {
    drop(now, done.error().message);
    return false;
  }
  return *done;
}

void RelayStream::write_out(Instant now) {
  while (connected() && out_start_ < out_.size()) {
    auto r = write_some(Bytes(out_.data() + out_start_, out_.size() - out_start_));
    if (!r) return drop(now, r.error().message);
    if (r->would_block()) break;
    out_start_ += r->bytes;
  }
  if (out_start_ == out_.size()) {
    out_.clear();
    out_start_ = 0;
  }
  watch();
}

bool RelayStream::queue(Bytes frame) {
  if (!connected()) return false;
  if (out_start_ > 0 && out_.size() + frame.size() > kOutQueue) {  // compact before refusing
    out_.erase(out_.begin(), out_.begin() + static_cast<std::ptrdiff_t>(out_start_));
    out_start_ = 0;
  }
  if (out_.size() + frame.size() > kOutQueue) return false;
  out_.insert(out_.end(), frame.begin(), frame.end());
  return true;
}

bool RelayStream::pump(size_t frames, Instant now) {
  backlog_ = false;
  if (down()) return false;
  bool came_up = false;
  if (!connected()) {
    if (!finish(now)) return false;
    if (tls_) {
      (void)tls_->tcp().set_no_delay(true);
      log::info("relay: connected to {} over TLS ({}, {})", server_.to_string(), tls_->protocol(),
                tls_->cipher());
    } else {
      (void)tcp_->set_no_delay(true);
      log::info("relay: connected to {} over TCP", server_.to_string());
    }
    backoff_ = Duration{};
    failures_ = 0;
    last_error_.clear();
    came_up = true;
  }
  write_out(now);
  size_t handed = 0;
  while (!down() && handed < frames) {
    const size_t fed = framer_.feed(Bytes(in_.data() + in_start_, in_end_ - in_start_));
    in_start_ += fed;
    handover_.clear();
    while (handed < frames && !handover_.full()) {
      auto f = framer_.next();
      if (!f) {
        drop(now, "the relay sent what is not STUN or ChannelData (" +
                      std::string(wire::stream_framing_error_name(f.error())) + ")");
        return came_up;
      }
      if (!*f) break;
      (void)handover_.add(inbox_, (*f)->bytes);
      ++handed;
    }
    if (handover_.size() > 0) {
      // Loopback: each datagram is in the inbox when send returns.
      if (auto sent = bridge_.send(handover_); !sent) {
        log::debug("relay: handing frames over failed: {}", sent.error().message);
      }
      handover_.clear();
      continue;  // the framer may hold more whole frames
    }
    if (in_start_ < in_end_) {  // fed only partly: next() made room, unless the framer is stuck
      if (fed > 0) continue;
      drop(now, "a frame larger than the framer takes");
      break;
    }
    auto r = read_some(MutableBytes(in_.data(), in_.size()));
    if (!r) {
      drop(now, r.error().message);
      break;
    }
    if (r->closed) {
      drop(now, "the relay closed it");
      break;
    }
    if (r->would_block()) break;
    in_start_ = 0;
    in_end_ = r->bytes;
  }
  // TLS may hold decrypted bytes the socket no longer signals: a TLS read that did not end
  // in a wait leaves a backlog too.
  backlog_ = !down() && (handed >= frames || (tls_ && tls_wait_ == io::IoWait::kNone));
  watch();
  return came_up;
}

}  // namespace tern::agent

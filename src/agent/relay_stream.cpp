// TURN over TCP or TLS for the agent's relay: a nonblocking connect (and handshake), a write
// queue reserved once, and frames split off the stream (wire/stun_tcp_framing.hpp) in its own
// receive buffer, handed to the data path in place.
#include "agent/relay_stream.hpp"

#include <algorithm>
#include <cctype>
#include <cstring>

#include <fmt/core.h>

#include "base/log.hpp"
#include "wire/stun_tcp_framing.hpp"

namespace tern::agent {
namespace {

constexpr uint64_t kTokenStream = 1;
// Reconnects start at 1 s and double up to 30 s; a connection that allocated resets it.
constexpr Duration kFirstBackoff = std::chrono::seconds(1);
constexpr Duration kMaxBackoff = std::chrono::seconds(30);
// Frames waiting for the socket: beyond this, new ones are refused (counted as send failures).
constexpr size_t kOutQueue = 1 << 20;
// Room for the largest frame (a STUN message of 64 KiB) and, at full speed, many small ones
// per read.
constexpr size_t kReceiveBuffer = 256 * 1024;
// How often a connected stream's TCP_INFO is read: a stall is seen within this of its start.
constexpr Duration kCheckEvery = std::chrono::milliseconds(500);
static_assert(kReceiveBuffer >= 2 * wire::kStunStreamMaxFrame);

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

bool StreamStallWatch::observe(const io::TcpProgress& p, Instant now) {
  if (p.unacked == 0 || p.retransmits == 0) {
    since_.reset();
    return false;
  }
  if (!since_) since_ = now;
  return p.retransmits >= kTimeoutsInRow || now - *since_ >= kStuckFor;
}

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

RelayStream::RelayStream(const Endpoint& server, io::Poller poller, RelayStreamOptions options)
    : server_(server),
      poller_(std::move(poller)),
      options_(std::move(options)),
      rx_(kReceiveBuffer) {
  out_.reserve(kOutQueue);
}

Result<RelayStream> RelayStream::open(const Endpoint& server, RelayStreamOptions options) {
  auto poller = io::Poller::create();
  if (!poller) return fail("the relay's poller: " + poller.error().message);
  return RelayStream(server, std::move(*poller), std::move(options));
}

bool RelayStream::connected() const {
  if (tls_) return tls_->handshake_done();
  return tcp_ && tcp_->connected();
}

void RelayStream::connect(Instant now) {
  if (!down() || now < retry_at_) return;
  auto s = io::TcpStream::connect(
      server_, io::TcpConnectOptions{.mark = options_.mark, .mss = options_.mss});
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
  rx_start_ = rx_end_ = 0;
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
    // Frames not yet handed to the kernel go with the connection: say how much.
    const size_t unsent = out_.size() - out_start_;
    log::warn("relay: the {} connection to {} {}: {}{}", kind(), server_.to_string(),
              was_up ? "ended" : "failed", why,
              unsent > 0 ? fmt::format(" ({} bytes of frames queued for it are lost)", unsent)
                         : std::string());
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
  // Write readiness also stands for a backlog: the socket is writable at once, so fd() signals
  // and the loop pumps again, where no new bytes would wake it.
  const bool want =
      !connected() || out_start_ < out_.size() || tls_wait_ == io::IoWait::kWrite || backlog_;
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

void RelayStream::check(Instant now) {
  if (!connected() || now < check_at_) return;
  check_at_ = now + kCheckEvery;
  const auto p = tls_ ? tls_->tcp().progress() : tcp_->progress();
  if (!p || !stall_.observe(*p, now)) return;
  ++stalls_;
  const uint16_t clamp = server_.address.unmapped().is_v4() ? kRelayClampMssV4 : kRelayClampMssV6;
  std::string why = fmt::format(
      "it stalled: {} segment(s) unacknowledged after {} retransmission timeout(s) in a row",
      p->unacked, p->retransmits);
  if (options_.mss == 0 || options_.mss > clamp) {
    // Kept for every later connection of this link: the path may stay small.
    options_.mss = clamp;
    why += fmt::format(
        "; a path MTU black hole towards the relay is likely (a smaller link with ICMP "
        "\"fragmentation needed\" filtered): connecting again with {}-byte segments (was {})",
        clamp, p->mss);
  }
  drop(now, why);
}

size_t RelayStream::pump(std::span<MutableBytes> frames, Instant now) {
  backlog_ = false;
  if (down()) return 0;
  if (!connected()) {
    if (!finish(now)) return 0;
    if (tls_) {
      (void)tls_->tcp().set_no_delay(true);
      log::info("relay: connected to {} over TLS ({}, {})", server_.to_string(), tls_->protocol(),
                tls_->cipher());
    } else {
      (void)tcp_->set_no_delay(true);
      log::info("relay: connected to {} over TCP", server_.to_string());
    }
    backoff_ = Duration{};
    stall_.reset();
    check_at_ = now + kCheckEvery;
    failures_ = 0;
    last_error_.clear();
    came_up_ = true;
  }
  write_out(now);
  // The frames handed out last time are done with: what follows them moves to the front.
  if (rx_start_ > 0) {
    std::memmove(rx_.data(), rx_.data() + rx_start_, rx_end_ - rx_start_);
    rx_end_ -= rx_start_;
    rx_start_ = 0;
  }
  size_t n = 0;
  bool drained = false;
  while (!down() && n < frames.size()) {
    uint8_t* head = rx_.data() + rx_start_;
    const size_t have = rx_end_ - rx_start_;
    auto size = wire::stream_frame_size(Bytes(head, have));
    if (!size) {
      drop(now, "the relay sent what is not STUN or ChannelData (" +
                    std::string(wire::stream_framing_error_name(size.error())) + ")");
      break;
    }
    if (*size && **size <= have) {
      size_t length = **size;
      if ((head[0] & 0xC0) == 0x40) length = 4 + ((size_t{head[2]} << 8) | head[3]);  // unpadded
      frames[n++] = MutableBytes(head, length);
      rx_start_ += **size;
      continue;
    }
    // No whole frame at the head: read more behind it, unless the buffer is full of frames
    // handed out in this call (the next call makes room).
    if (rx_end_ == rx_.size()) break;
    auto r = read_some(MutableBytes(rx_.data() + rx_end_, rx_.size() - rx_end_));
    if (!r) {
      drop(now, r.error().message);
      break;
    }
    if (r->closed) {
      drop(now, "the relay closed it");
      break;
    }
    if (r->would_block()) {
      drained = true;
      break;
    }
    rx_end_ += r->bytes;
  }
  backlog_ = !down() && !drained;
  watch();
  return n;
}

}  // namespace tern::agent

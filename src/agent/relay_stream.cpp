// TURN over TCP for the agent's relay: a nonblocking connect, a write queue reserved once, and
// frames split off the stream (wire/stun_tcp_framing.hpp) handed to the link's socket.
#include "agent/relay_stream.hpp"

#include <algorithm>
#include <cctype>

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
                         Endpoint inbox)
    : server_(server),
      poller_(std::move(poller)),
      bridge_(std::move(bridge)),
      inbox_(inbox),
      source_(Endpoint{IpAddress::v4({127, 0, 0, 1}), bridge_.local_port()}),
      in_(kReadChunk),
      handover_(64) {
  out_.reserve(kOutQueue);
}

Result<RelayStream> RelayStream::open(const Endpoint& server, int inbox_fd, uint16_t inbox_port) {
  auto poller = io::Poller::create();
  if (!poller) return fail("the relay's poller: " + poller.error().message);
  auto bridge = io::UdpSocket::bind(Endpoint{IpAddress::v4({127, 0, 0, 1}), 0});
  if (!bridge) return fail("the relay's loopback socket: " + bridge.error().message);
  if (auto st = poller->add(inbox_fd, kTokenInbox, true, false); !st)
    return fail(st.error().message);
  return RelayStream(server, std::move(*poller), std::move(*bridge),
                     Endpoint{IpAddress::v4({127, 0, 0, 1}), inbox_port});
}

void RelayStream::connect(Instant now) {
  if (stream_ || now < retry_at_) return;
  auto s = io::TcpStream::connect(server_);
  if (!s) {
    drop(now, s.error().message);
    return;
  }
  stream_ = std::move(*s);
  framer_ = wire::StunStreamFramer();
  in_start_ = in_end_ = 0;
  out_.clear();
  out_start_ = 0;
  if (auto st = poller_.add(stream_->fd(), kTokenStream, true, true); !st) {
    drop(now, st.error().message);
    return;
  }
  watching_write_ = true;
}

void RelayStream::drop(Instant now, std::string_view why) {
  if (stream_) {
    log::warn("relay: the TCP connection to {} ended: {}", server_.to_string(), why);
    poller_.remove(stream_->fd());
    stream_.reset();
    lost_ = true;
  } else {
    log::warn("relay: connecting to {} over TCP failed: {}", server_.to_string(), why);
  }
  backoff_ = backoff_ == Duration{} ? kFirstBackoff : std::min(backoff_ * 2, kMaxBackoff);
  retry_at_ = now + backoff_;
  watching_write_ = false;
}

void RelayStream::watch() {
  if (!stream_) return;
  const bool want = !stream_->connected() || out_start_ < out_.size();
  if (want == watching_write_) return;
  if (poller_.modify(stream_->fd(), kTokenStream, true, want)) watching_write_ = want;
}

void RelayStream::write_out(Instant now) {
  while (stream_ && stream_->connected() && out_start_ < out_.size()) {
    auto r = stream_->write(Bytes(out_.data() + out_start_, out_.size() - out_start_));
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
  if (!stream_) return false;
  bool came_up = false;
  if (!stream_->connected()) {
    auto done = stream_->finish_connect();
    if (!done) {
      drop(now, done.error().message);
      return false;
    }
    if (!*done) return false;
    (void)stream_->set_no_delay(true);
    backoff_ = Duration{};
    came_up = true;
    log::info("relay: connected to {} over TCP", server_.to_string());
  }
  write_out(now);
  size_t handed = 0;
  while (stream_ && handed < frames) {
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
    auto r = stream_->read(MutableBytes(in_.data(), in_.size()));
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
  backlog_ = stream_ && handed >= frames;
  return came_up;
}

}  // namespace tern::agent

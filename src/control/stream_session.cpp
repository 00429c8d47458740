#include "control/stream_session.hpp"

#include "control/map_hub.hpp"
#include "control/websocket.hpp"

namespace tern::control {
namespace {

constexpr size_t kMaxBadKept = 4;  // reasons kept for the log; the counter counts them all

std::string close_payload(uint16_t code, std::string_view reason) {
  std::string p;
  p.push_back(static_cast<char>(code >> 8));
  p.push_back(static_cast<char>(code & 0xFF));
  p.append(reason.substr(0, 123));  // a control frame carries at most 125 bytes (§5.5)
  return p;
}

}  // namespace

std::string_view stream_end_text(StreamEnd end) {
  switch (end) {
    case StreamEnd::kNone:
      return "open";
    case StreamEnd::kAgentClosed:
      return "closed by the agent";
    case StreamEnd::kIdle:
      return "silent too long";
    case StreamEnd::kProtocol:
      return "protocol error";
    case StreamEnd::kTooLarge:
      return "message too large";
    case StreamEnd::kOverflow:
      return "not reading (output bound reached)";
    case StreamEnd::kRemoved:
      return "peer removed";
    case StreamEnd::kReplaced:
      return "replaced by a newer stream";
    case StreamEnd::kShutdown:
      return "server stopping";
  }
  return "?";
}

std::string ws_upgrade_response(std::string_view accept_key) {
  std::string r =
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
      "Sec-WebSocket-Accept: ";
  r.append(accept_key);
  r.append("\r\n\r\n");
  return r;
}

StreamSession::StreamSession(std::string_view accept_key, Instant now, StreamLimits limits)
    : limits_(limits), last_heard_(now), next_ping_(now + limits.ping_interval) {
  (void)queue(ws_upgrade_response(accept_key));
}

std::string_view StreamSession::output() const {
  return out_.empty() ? std::string_view() : out_.front().view();
}

void StreamSession::consume_output(size_t n) {
  while (n > 0 && !out_.empty()) {
    Chunk& c = out_.front();
    const size_t take = std::min(n, c.view().size());
    c.head += take;
    out_bytes_ -= take;
    n -= take;
    if (c.view().empty()) out_.pop_front();  // its buffer goes (or one reference to it)
  }
}

bool StreamSession::fits(size_t bytes) {
  if (state_ == State::kFinished) return false;
  if (out_bytes_ + bytes > limits_.max_output) {
    out_.clear();
    out_bytes_ = 0;
    state_ = State::kFinished;
    end_ = StreamEnd::kOverflow;
    return false;
  }
  return true;
}

bool StreamSession::queue(std::string_view bytes) {
  if (!fits(bytes.size())) return false;
  // Small own bytes join the last own chunk (not yet written from, so it cannot move under
  // the socket) rather than making one chunk each.
  if (out_.empty() || out_.back().shared.text || out_.back().head > 0 ||
      out_.back().own.size() + bytes.size() > (64 << 10)) {
    out_.push_back(Chunk{});
  }
  out_.back().own.append(bytes);
  out_bytes_ += bytes.size();
  return true;
}

bool StreamSession::send_text(const SharedMessage& message) {
  if (state_ != State::kOpen) return false;
  const size_t n = message_size(message);
  if (!fits(n + 14)) return false;  // with the frame head: the slices below all fit
  if (!queue(ws_frame_head(WsOpcode::kText, n))) return false;
  for (const auto& part : message) {
    if (part.size() == 0) continue;
    if (part.size() < 512) {
      (void)queue(part.view());  // fits: counted above
      continue;
    }
    out_.push_back(Chunk{{}, part, 0});
    out_bytes_ += part.size();
  }
  return true;
}

bool StreamSession::send_text(std::string_view message) {
  if (state_ != State::kOpen) return false;  // no data after our close frame (§5.5.1)
  return queue(encode_ws_frame(WsOpcode::kText, message));
}

void StreamSession::close(uint16_t code, std::string_view reason, StreamEnd why, Instant now) {
  if (state_ != State::kOpen) return;
  if (!queue(encode_ws_frame(WsOpcode::kClose, close_payload(code, reason)))) return;
  state_ = State::kClosing;
  end_ = why;
  close_deadline_ = now + limits_.close_timeout;
}

void StreamSession::fail(uint16_t code, StreamEnd why) {
  if (state_ == State::kOpen)
    (void)queue(encode_ws_frame(WsOpcode::kClose, close_payload(code, {})));
  if (state_ == State::kFinished) return;  // the queue overflowed: that is the reason
  state_ = State::kFinished;
  end_ = why;
}

void StreamSession::handle_input(std::string_view bytes, Instant now) {
  if (state_ == State::kFinished) return;
  in_.append(bytes);
  size_t pos = 0;
  WsFrame frame;
  while (state_ != State::kFinished) {
    const WsParsed p =
        parse_ws_frame(std::string_view(in_).substr(pos), true, frame, limits_.max_message);
    if (p.result == WsParse::kIncomplete) break;
    if (p.result == WsParse::kBad) return fail(kWsProtocolError, StreamEnd::kProtocol);
    if (p.result == WsParse::kTooLarge) return fail(kWsTooBig, StreamEnd::kTooLarge);
    pos += p.consumed;
    on_frame(static_cast<uint8_t>(frame.opcode), frame.fin, frame.payload, now);
  }
  in_.erase(0, pos);
}

void StreamSession::on_frame(uint8_t opcode, bool fin, std::string& payload, Instant now) {
  last_heard_ = now;
  switch (static_cast<WsOpcode>(opcode)) {
    case WsOpcode::kPing:
      if (state_ == State::kOpen) (void)queue(encode_ws_frame(WsOpcode::kPong, payload));
      return;
    case WsOpcode::kPong:
      return;
    case WsOpcode::kClose:
      if (payload.size() == 1) return fail(kWsProtocolError, StreamEnd::kProtocol);
      if (state_ == State::kOpen) {
        // Echo the agent's code (§5.5.1); an empty close is answered with an empty one.
        (void)queue(encode_ws_frame(WsOpcode::kClose, payload.substr(0, 2)));
        if (state_ == State::kFinished) return;
        end_ = StreamEnd::kAgentClosed;
      }
      state_ = State::kFinished;
      return;
    case WsOpcode::kBinary:
      return fail(kWsUnsupported, StreamEnd::kProtocol);
    case WsOpcode::kText:
      if (in_message_) return fail(kWsProtocolError, StreamEnd::kProtocol);
      if (fin) return on_message(payload);
      message_ = std::move(payload);
      in_message_ = true;
      return;
    case WsOpcode::kContinuation:
      if (!in_message_) return fail(kWsProtocolError, StreamEnd::kProtocol);
      if (message_.size() + payload.size() > limits_.max_message) {
        return fail(kWsTooBig, StreamEnd::kTooLarge);
      }
      message_.append(payload);
      if (fin) {
        in_message_ = false;
        on_message(message_);
        message_.clear();
      }
      return;
  }
}

void StreamSession::on_message(std::string_view text) {
  if (state_ != State::kOpen) return;  // closing: data frames are ignored
  auto endpoints = parse_endpoints_message(text);
  if (endpoints) {
    endpoints_ = std::move(*endpoints);  // a newer report replaces one not yet applied
    return;
  }
  ++bad_messages_;
  if (bad_.size() < kMaxBadKept) bad_.push_back(StreamBadMessage{endpoints.error().message});
}

void StreamSession::handle_timeout(Instant now) {
  if (state_ == State::kFinished) return;
  if (state_ == State::kClosing) {
    if (now >= close_deadline_) state_ = State::kFinished;
    return;
  }
  if (now >= last_heard_ + limits_.idle_timeout) {
    state_ = State::kFinished;  // nobody there to read a close frame
    end_ = StreamEnd::kIdle;
    return;
  }
  if (now >= next_ping_) {
    (void)queue(encode_ws_frame(WsOpcode::kPing, {}));
    next_ping_ = now + limits_.ping_interval;
  }
}

std::optional<Instant> StreamSession::poll_timeout() const {
  switch (state_) {
    case State::kFinished:
      return std::nullopt;
    case State::kClosing:
      return close_deadline_;
    case State::kOpen:
      break;
  }
  Instant t = std::min(next_ping_, last_heard_ + limits_.idle_timeout);
  if (endpoints_) t = std::min(t, next_endpoints_);
  return t;
}

std::optional<StreamEvent> StreamSession::poll_event(Instant now) {
  if (!bad_.empty()) {
    StreamBadMessage bad = std::move(bad_.front());
    bad_.pop_front();
    return bad;
  }
  if (state_ != State::kOpen || !endpoints_ || now < next_endpoints_) return std::nullopt;
  StreamEndpoints e{std::move(*endpoints_)};
  endpoints_.reset();
  next_endpoints_ = now + limits_.endpoints_interval;
  return e;
}

}  // namespace tern::control

// One agent's map stream on the server, after the HTTP upgrade, without the socket: the
// WebSocket (RFC 6455) connection state of tern control's agent stream. It takes the bytes
// the agent sent and the time, and gives the bytes to write, the agent's reports, and when
// the connection is to be closed. The loop (cli/control_stream.cpp) only moves bytes.
//
//   open ---- close() (removed, shutdown) ----> closing --- agent's close / timeout --> finished
//     |--- agent's close (answered), silence, bad frame, output over its bound ------> finished
//
// Pings go out every ping_interval; a stream that sent nothing for idle_timeout is dead.
// Output is bounded: a stream that cannot keep up is dropped (it reconnects to a full map)
// rather than holding the server's memory. Output is a queue of slices: the stream's own
// bytes (frame heads, pings, its own messages) and, by reference, buffers shared with other
// streams (control/shared_text.hpp), each freed once written. Endpoints reports are applied at most
// once per endpoints_interval; a faster agent has its latest report applied at the next slot.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "base/ip.hpp"
#include "base/time.hpp"
#include "control/shared_text.hpp"

namespace tern::control {

struct StreamLimits {
  Duration ping_interval = std::chrono::seconds(20);
  Duration idle_timeout = std::chrono::seconds(60);
  Duration close_timeout = std::chrono::seconds(5);  // waiting for the agent's close frame
  size_t max_output = 16 << 20;                      // bytes queued and not yet written
  size_t max_message = 64 << 10;                     // one agent message, fragments joined
  Duration endpoints_interval = std::chrono::seconds(1);
};

// Why a stream ended (for logs and counters).
enum class StreamEnd : uint8_t {
  kNone,
  kAgentClosed,  // the agent sent a close frame
  kIdle,         // nothing heard for idle_timeout
  kProtocol,     // a frame RFC 6455 forbids, or a binary message
  kTooLarge,     // a message over max_message
  kOverflow,     // output over max_output: the agent does not read
  kRemoved,      // the agent's peer was removed
  kReplaced,     // the same peer opened a newer stream
  kShutdown,     // the server is stopping
};
[[nodiscard]] std::string_view stream_end_text(StreamEnd end);

// RFC 6455 §7.4.1 status codes.
inline constexpr uint16_t kWsNormal = 1000;
inline constexpr uint16_t kWsGoingAway = 1001;
inline constexpr uint16_t kWsProtocolError = 1002;
inline constexpr uint16_t kWsUnsupported = 1003;
inline constexpr uint16_t kWsTooBig = 1009;

struct StreamEndpoints {
  std::vector<Endpoint> endpoints;
};
struct StreamBadMessage {
  std::string reason;
};
using StreamEvent = std::variant<StreamEndpoints, StreamBadMessage>;

// The 101 answer to an upgrade whose accept key check_ws_upgrade() computed.
[[nodiscard]] std::string ws_upgrade_response(std::string_view accept_key);

class StreamSession {
 public:
  // Starts with the 101 answer queued.
  StreamSession(std::string_view accept_key, Instant now, StreamLimits limits = {});

  // Bytes read from the agent.
  void handle_input(std::string_view bytes, Instant now);
  void handle_timeout(Instant now);
  // The next time handle_timeout() has something to do; nullopt once finished.
  [[nodiscard]] std::optional<Instant> poll_timeout() const;
  [[nodiscard]] std::optional<StreamEvent> poll_event(Instant now);

  // Queues a message (a text frame). False when it did not fit: the stream is then
  // finished with kOverflow and its output dropped.
  bool send_text(std::string_view message);
  // The same for a message whose slices are shared with other streams (not copied).
  bool send_text(const SharedMessage& message);
  // Starts the closing handshake (only from open).
  void close(uint16_t code, std::string_view reason, StreamEnd why, Instant now);

  // What to write next (empty: nothing), one slice at a time; consume_output() with what
  // the socket took.
  [[nodiscard]] std::string_view output() const;
  void consume_output(size_t n);
  size_t output_size() const { return out_bytes_; }

  bool open() const { return state_ == State::kOpen; }
  // Close the connection now, after writing what output() holds if the socket takes it.
  bool finished() const { return state_ == State::kFinished; }
  StreamEnd end() const { return end_; }
  uint64_t bad_messages() const { return bad_messages_; }

 private:
  enum class State : uint8_t { kOpen, kClosing, kFinished };

  // A slice of output: the stream's own bytes, or a shared buffer's.
  struct Chunk {
    std::string own;
    SharedText shared;  // when shared.text is set
    size_t head = 0;    // written so far
    std::string_view view() const {
      return (shared.text ? shared.view() : std::string_view(own)).substr(head);
    }
  };
  bool fits(size_t bytes);
  bool queue(std::string_view bytes);
  void on_frame(uint8_t opcode, bool fin, std::string& payload, Instant now);
  void on_message(std::string_view text);
  void fail(uint16_t code, StreamEnd why);

  StreamLimits limits_;
  State state_ = State::kOpen;
  StreamEnd end_ = StreamEnd::kNone;
  std::string in_;
  std::deque<Chunk> out_;
  size_t out_bytes_ = 0;  // not yet written
  std::string message_;   // a fragmented text message being joined
  bool in_message_ = false;
  Instant last_heard_;
  Instant next_ping_;
  Instant close_deadline_{};
  std::optional<std::vector<Endpoint>> endpoints_;
  Instant next_endpoints_{};
  std::deque<StreamBadMessage> bad_;
  uint64_t bad_messages_ = 0;
};

}  // namespace tern::control

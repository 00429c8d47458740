// libFuzzer target for one agent stream on the server (control/stream_session.hpp): the
// input is a script of agent bytes cut at arbitrary places, passing time, server messages,
// partial writes and closes. Whatever happens, what the server writes after its 101 is a
// sequence of well-formed unmasked frames, the output stays within its bound, and a
// finished session stays finished with nothing more to wake for.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "control/stream_session.hpp"
#include "control/websocket.hpp"

namespace {

using namespace tern;
using namespace tern::control;

void require(bool ok) {
  if (!ok) std::abort();
}

// Checks and consumes `n` bytes of the session's output as the agent would read them.
struct Reader {
  bool past_head = false;
  std::string pending;

  void take(StreamSession& s, size_t n) {
    const std::string_view out = s.output();
    n = std::min(n, out.size());
    pending.append(out.substr(0, n));
    s.consume_output(n);
    if (!past_head) {
      const size_t end = pending.find("\r\n\r\n");
      if (end == std::string::npos) return;
      require(pending.starts_with("HTTP/1.1 101 "));
      pending.erase(0, end + 4);
      past_head = true;
    }
    for (;;) {
      WsFrame f;
      const auto p = parse_ws_frame(pending, false, f, 1 << 22);
      require(p.result == WsParse::kOk || p.result == WsParse::kIncomplete);
      if (p.result != WsParse::kOk) return;
      require(f.fin);
      pending.erase(0, p.consumed);
    }
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  StreamLimits limits;
  limits.max_output = 4096;
  limits.max_message = 2048;
  Instant now{};
  StreamSession s("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", now, limits);
  Reader reader;
  size_t i = 0;
  while (i < size) {
    const uint8_t op = data[i++];
    const size_t arg = i < size ? data[i++] : 0;
    const bool was_finished = s.finished();
    switch (op % 6) {
      case 0: {  // agent bytes
        const size_t n = std::min(arg, size - i);
        s.handle_input(std::string_view(reinterpret_cast<const char*>(data + i), n), now);
        i += n;
        break;
      }
      case 1:  // time passes (up to ~65 s)
        now += std::chrono::milliseconds(arg * 256);
        s.handle_timeout(now);
        break;
      case 2:
        (void)s.send_text(std::string(arg * 8, 'm'));
        break;
      case 3:
        reader.take(s, arg * 16);
        break;
      case 4:
        s.close(kWsNormal, "bye", StreamEnd::kRemoved, now);
        break;
      default:
        while (s.poll_event(now)) {
        }
        break;
    }
    if (was_finished) require(s.finished());
    require(s.output().size() <= limits.max_output + 256);
    require(s.finished() == !s.poll_timeout().has_value());
    require(s.open() == (s.end() == StreamEnd::kNone));
  }
  reader.take(s, s.output().size());
  return 0;
}

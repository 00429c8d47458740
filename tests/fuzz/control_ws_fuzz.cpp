// libFuzzer target for the agent stream's WebSocket frame parser (control/websocket.hpp),
// as the server (masked frames) and as a client (unmasked) sees them. Whatever it accepts
// must re-encode to a frame that parses to the same opcode and payload, within the input.
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "control/websocket.hpp"

namespace {

using namespace tern::control;

void require(bool ok) {
  if (!ok) std::abort();
}

void check(std::string_view in, bool masked) {
  WsFrame f;
  const auto p = parse_ws_frame(in, masked, f, 1 << 16);
  require(p.consumed <= in.size());
  if (p.result != WsParse::kOk) {
    require(p.consumed == 0);
    return;
  }
  require(f.payload.size() <= (1 << 16));
  require(p.consumed >= f.payload.size() + 2);
  const bool control = static_cast<uint8_t>(f.opcode) >= 0x8;
  require(!control || (f.fin && f.payload.size() <= 125));
  if (!f.fin) return;  // re-encoding always sets FIN
  const auto again = masked
                         ? encode_ws_frame(f.opcode, f.payload, std::array<uint8_t, 4>{1, 2, 3, 4})
                         : encode_ws_frame(f.opcode, f.payload);
  WsFrame g;
  const auto q = parse_ws_frame(again, masked, g, 1 << 16);
  require(q.result == WsParse::kOk && q.consumed == again.size());
  require(g.opcode == f.opcode && g.payload == f.payload);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  check(in, true);
  check(in, false);
  return 0;
}

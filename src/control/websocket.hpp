// RFC 6455 WebSocket for the agent stream, sans-I/O: the opening handshake's accept key
// and upgrade checks, and the frame codec. The server reads masked client frames and
// writes unmasked ones (§5.1). Bounded and strict: no extensions (RSV bits zero),
// control frames of at most 125 bytes and never fragmented (§5.5), minimal length
// encodings (§5.2), payloads over a limit refused before they are read.
//
//   0                   1                   2                   3
//   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//  +-+-+-+-+-------+-+-------------+-------------------------------+
//  |F|R|R|R| opcode|M| Payload len |    Extended payload length    |
//  |I|S|S|S|  (4)  |A|     (7)     |             (16/64)           |
//  |N|V|V|V|       |S|             |   (if payload len==126/127)   |
//  | |1|2|3|       |K|             |                               |
//  +-+-+-+-+-------+-+-------------+ - - - - - - - - - - - - - - - +
//  |     Extended payload length continued, if payload len == 127  |
//  + - - - - - - - - - - - - - - - +-------------------------------+
//  |                               |Masking-key, if MASK set to 1  |
//  +-------------------------------+-------------------------------+
//  | Masking-key (continued)       |          Payload Data         |
//  +-------------------------------- - - - - - - - - - - - - - - - +
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/result.hpp"
#include "control/http.hpp"

namespace tern::control {

// The agent's bound on one server message: a full map of 65,536 peers (agent_messages.hpp)
// fits, at about 160 bytes each.
inline constexpr size_t kMaxWsPayload = 16 << 20;

enum class WsOpcode : uint8_t {
  kContinuation = 0x0,
  kText = 0x1,
  kBinary = 0x2,
  kClose = 0x8,
  kPing = 0x9,
  kPong = 0xA,
};

struct WsFrame {
  bool fin = true;
  WsOpcode opcode = WsOpcode::kText;
  std::string payload;  // unmasked
};

enum class WsParse { kIncomplete, kOk, kBad, kTooLarge };

struct WsParsed {
  WsParse result = WsParse::kIncomplete;
  size_t consumed = 0;
};

// One frame from the start of `data`. `masked`: whether frames must carry a mask (true on
// the server, false on the client; the other kind is kBad).
[[nodiscard]] WsParsed parse_ws_frame(std::string_view data, bool masked, WsFrame& out,
                                      size_t max_payload = kMaxWsPayload);
// A whole frame (FIN set); masked with `mask` when given (a client's frames).
[[nodiscard]] std::string encode_ws_frame(WsOpcode opcode, std::string_view payload,
                                          std::optional<std::array<uint8_t, 4>> mask = {});

// The head of an unmasked frame (FIN set) whose payload of `size` bytes follows it.
[[nodiscard]] std::string ws_frame_head(WsOpcode opcode, uint64_t size);

// Sec-WebSocket-Accept for a client's Sec-WebSocket-Key (§4.2.2): base64(SHA-1(key + GUID)).
[[nodiscard]] std::string ws_accept_key(std::string_view client_key);
// Checks an opening handshake (GET, Upgrade: websocket, Connection: upgrade, version 13, a
// 16-byte base64 key) and returns the accept key for the 101 answer.
[[nodiscard]] Result<std::string> check_ws_upgrade(const HttpRequest& request);

}  // namespace tern::control

// The agent's HTTP/1.1 to the control server, sans-I/O: the two requests it makes (POST
// /api/v1/register, and GET /api/v1/stream upgraded to a WebSocket, RFC 6455 §4.1) and a
// bounded parser for the head of the server's answer. After a 101 the same bytes go on as
// WebSocket frames (control/websocket.hpp).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/result.hpp"

namespace tern::control {

inline constexpr size_t kMaxResponseHead = 16384;
// The register answer holds the whole map; a stream message is bounded by kMaxWsPayload.
inline constexpr size_t kMaxResponseBody = 16 << 20;

struct HttpResponseHead {
  int status = 0;
  std::vector<std::pair<std::string, std::string>> headers;  // names lowercased
  size_t content_length = 0;                                 // 0 when absent
  bool has_content_length = false;
  std::string_view header(std::string_view name) const;  // "" when absent
};

enum class ResponseParse { kIncomplete, kOk, kBad };
struct ResponseParsed {
  ResponseParse result = ResponseParse::kIncomplete;
  size_t consumed = 0;  // kOk: the head's length, CRLFCRLF included
};
[[nodiscard]] ResponseParsed parse_http_response_head(std::string_view data, HttpResponseHead& out);

// The server's URL: "https://host[:port]" (443 by default), or "http://" for a development
// server on loopback. A path after the authority is ignored.
struct ControlUrl {
  bool tls = true;
  std::string host;       // as written, without brackets: the name the certificate must cover
  std::string host_port;  // "host:port" / "[v6]:port": what to resolve, and the Host header
};
[[nodiscard]] Result<ControlUrl> parse_control_url(std::string_view url);

// `host` is the Host header ("host:port").
[[nodiscard]] std::string register_http_request(std::string_view host, std::string_view body);
// Sec-WebSocket-Key: base64 of 16 random bytes (RFC 6455 §4.1).
[[nodiscard]] std::string ws_client_key(const std::array<uint8_t, 16>& random);
// `ws_key`: from ws_client_key().
[[nodiscard]] std::string stream_http_request(std::string_view host, std::string_view token,
                                              std::string_view ws_key);
// 101 with Upgrade: websocket and the right Sec-WebSocket-Accept; otherwise why not.
[[nodiscard]] Status check_stream_upgrade(const HttpResponseHead& head, std::string_view ws_key);

// The message of an error body ({"error": "...", "reason": "..."}) for logs; the raw text
// (shortened) when it is not that JSON.
[[nodiscard]] std::string error_text(int status, std::string_view body);

}  // namespace tern::control

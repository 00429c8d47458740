// HTTP/1.1 requests and responses for the control API (RFC 9112), sans-I/O: the
// parser is given the bytes received so far and says whether a whole request is there.
// Bodies need Content-Length (no chunked requests); the head and the body are bounded,
// so an oversized request is refused (431, 413) before it is read.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tern::control {

inline constexpr size_t kMaxHead = 8192;
inline constexpr size_t kMaxBody = 64 * 1024;
inline constexpr size_t kMaxHeaders = 64;

struct HttpRequest {
  std::string method;
  std::string path;                                          // the target without "?query"
  std::string query;                                         // after '?', undecoded
  std::vector<std::pair<std::string, std::string>> headers;  // names lowercased
  std::string body;

  // The first header of that (lowercase) name.
  std::optional<std::string_view> header(std::string_view name) const;
};

enum class HttpParse {
  kIncomplete,    // read more
  kOk,            // `out` holds the request; `consumed` bytes of the input were used
  kBad,           // 400
  kHeadTooLarge,  // 431
  kBodyTooLarge,  // 413 (known from Content-Length before the body is read)
  kUnsupported,   // 501: Transfer-Encoding
};

struct HttpParsed {
  HttpParse result = HttpParse::kIncomplete;
  size_t consumed = 0;
};

[[nodiscard]] HttpParsed parse_http_request(std::string_view data, HttpRequest& out,
                                            size_t max_body = kMaxBody);

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
};

[[nodiscard]] std::string_view reason_phrase(int status);
// The response on the wire, with Content-Length; `close` adds "Connection: close".
[[nodiscard]] std::string serialize_response(const HttpResponse& r, bool close);

}  // namespace tern::control

// The request line of an HTTP/1.x request (RFC 9112 §3), for the metrics
// endpoint: the bytes come from the network, so this is bounded, copies nothing
// and never trusts a length. Header-only, so the fuzz target needs no library.
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>

namespace tern::relayd {

// Requests larger than this are refused (431) before they are looked at.
inline constexpr size_t kMaxHttpHead = 4096;

struct HttpRequestLine {
  std::string_view method;  // views into the parsed text
  std::string_view target;  // the path, without "?query"
};

enum class HttpParse {
  kIncomplete,  // no end of the head yet: read more
  kBad,         // malformed: answer 400 and close
  kTooLarge,    // the head is over kMaxHttpHead: answer 431 and close
  kOk,
};

namespace http_detail {
constexpr bool is_token_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_' || c == '.' || c == '!' || c == '#' || c == '$' || c == '%' || c == '&' ||
         c == '\'' || c == '*' || c == '+' || c == '^' || c == '`' || c == '|' || c == '~';
}
constexpr bool is_target_char(char c) {
  return c > ' ' && c < 0x7f;
}
}  // namespace http_detail

// Parses the head received so far (everything up to an empty line). On kOk,
// `out` holds the method and the path; the header lines are not interpreted.
inline HttpParse parse_http_head(std::string_view received, HttpRequestLine& out) {
  // The head ends at CRLF CRLF; a bare LF LF is accepted too (RFC 9112 §2.2).
  size_t end = received.find("\r\n\r\n");
  if (end == std::string_view::npos) end = received.find("\n\n");
  if (end == std::string_view::npos) {
    return received.size() >= kMaxHttpHead ? HttpParse::kTooLarge : HttpParse::kIncomplete;
  }
  if (end > kMaxHttpHead) return HttpParse::kTooLarge;
  std::string_view line = received.substr(0, received.find('\n'));
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);

  // method SP request-target SP HTTP-version
  size_t sp1 = line.find(' ');
  if (sp1 == std::string_view::npos || sp1 == 0) return HttpParse::kBad;
  size_t sp2 = line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos || sp2 == sp1 + 1) return HttpParse::kBad;
  std::string_view method = line.substr(0, sp1);
  std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  std::string_view version = line.substr(sp2 + 1);
  for (char c : method) {
    if (!http_detail::is_token_char(c)) return HttpParse::kBad;
  }
  for (char c : target) {
    if (!http_detail::is_target_char(c)) return HttpParse::kBad;
  }
  if (version != "HTTP/1.1" && version != "HTTP/1.0") return HttpParse::kBad;
  if (target.front() != '/') return HttpParse::kBad;  // origin-form only
  if (size_t q = target.find('?'); q != std::string_view::npos) target = target.substr(0, q);
  out.method = method;
  out.target = target;
  return HttpParse::kOk;
}

}  // namespace tern::relayd

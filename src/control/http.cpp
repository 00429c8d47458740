#include "control/http.hpp"

#include <algorithm>

#include "base/decimal.hpp"

namespace tern::control {
namespace {

bool is_token_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
         std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

char lower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
    s.remove_suffix(1);
  return s;
}

// One line of the head, without its CRLF (a bare LF is accepted, RFC 9112 §2.2).
std::string_view next_line(std::string_view& head) {
  const size_t lf = head.find('\n');
  std::string_view line = head.substr(0, lf);
  head.remove_prefix(lf == std::string_view::npos ? head.size() : lf + 1);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  return line;
}

}  // namespace

std::optional<std::string_view> HttpRequest::header(std::string_view name) const {
  for (const auto& [n, v] : headers) {
    if (n == name) return std::string_view(v);
  }
  return std::nullopt;
}

HttpParsed parse_http_request(std::string_view data, HttpRequest& out, size_t max_body) {
  size_t end = data.find("\r\n\r\n");
  size_t body_start = end + 4;
  if (const size_t lf = data.find("\n\n"); lf != std::string_view::npos && lf < end) {
    end = lf;
    body_start = lf + 2;
  }
  if (end == std::string_view::npos) {
    return {data.size() > kMaxHead ? HttpParse::kHeadTooLarge : HttpParse::kIncomplete, 0};
  }
  if (end > kMaxHead) return {HttpParse::kHeadTooLarge, 0};
  std::string_view head = data.substr(0, end);

  // request-line = method SP request-target SP HTTP-version
  const std::string_view line = next_line(head);
  const size_t sp1 = line.find(' ');
  if (sp1 == std::string_view::npos || sp1 == 0) return {HttpParse::kBad, 0};
  const size_t sp2 = line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos || sp2 == sp1 + 1) return {HttpParse::kBad, 0};
  const std::string_view method = line.substr(0, sp1);
  const std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  const std::string_view version = line.substr(sp2 + 1);
  if (!std::all_of(method.begin(), method.end(), is_token_char)) return {HttpParse::kBad, 0};
  if (target.front() != '/') return {HttpParse::kBad, 0};
  for (char c : target) {
    if (c <= ' ' || c >= 0x7f) return {HttpParse::kBad, 0};
  }
  if (version != "HTTP/1.1" && version != "HTTP/1.0") return {HttpParse::kBad, 0};

  HttpRequest r;
  r.method = method;
  const size_t q = target.find('?');
  r.path = target.substr(0, q);
  if (q != std::string_view::npos) r.query = target.substr(q + 1);

  std::optional<size_t> content_length;
  while (!head.empty()) {
    const std::string_view h = next_line(head);
    const size_t colon = h.find(':');
    if (colon == std::string_view::npos || colon == 0) return {HttpParse::kBad, 0};
    const std::string_view name = h.substr(0, colon);
    if (!std::all_of(name.begin(), name.end(), is_token_char)) return {HttpParse::kBad, 0};
    const std::string_view value = trim(h.substr(colon + 1));
    for (char c : value) {
      if ((c < ' ' && c != '\t') || c == 0x7f) return {HttpParse::kBad, 0};
    }
    if (r.headers.size() == kMaxHeaders) return {HttpParse::kHeadTooLarge, 0};
    std::string lname(name);
    std::transform(lname.begin(), lname.end(), lname.begin(), lower);
    if (lname == "transfer-encoding") return {HttpParse::kUnsupported, 0};
    if (lname == "content-length") {
      // Two lengths could be read differently by a proxy in front: refuse (RFC 9112 §6.3).
      if (content_length) return {HttpParse::kBad, 0};
      const auto n = parse_decimal(value, uint64_t{1} << 40);
      if (!n) return {HttpParse::kBad, 0};
      content_length = static_cast<size_t>(*n);
    }
    r.headers.emplace_back(std::move(lname), std::string(value));
  }
  const size_t length = content_length.value_or(0);
  if (length > max_body) return {HttpParse::kBodyTooLarge, 0};
  if (data.size() - body_start < length) return {HttpParse::kIncomplete, 0};
  r.body = data.substr(body_start, length);
  out = std::move(r);
  return {HttpParse::kOk, body_start + length};
}

std::string_view reason_phrase(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 204:
      return "No Content";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 413:
      return "Content Too Large";
    case 429:
      return "Too Many Requests";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 503:
      return "Service Unavailable";
    default:
      return "Unknown";
  }
}

std::string serialize_response(const HttpResponse& r, bool close) {
  std::string out = "HTTP/1.1 " + std::to_string(r.status) + " ";
  out += reason_phrase(r.status);
  out += "\r\n";
  if (!r.body.empty()) out += "Content-Type: " + r.content_type + "\r\n";
  out += "Content-Length: " + std::to_string(r.body.size()) + "\r\n";
  out += "Cache-Control: no-store\r\n";
  for (const auto& [n, v] : r.headers)
    out += n + ": " + v + "\r\n";
  if (close) out += "Connection: close\r\n";
  out += "\r\n";
  out += r.body;
  return out;
}

}  // namespace tern::control

#include "control/agent_http.hpp"

#include <algorithm>
#include <cctype>

#include <sodium.h>

#include <nlohmann/json.hpp>

#include "base/decimal.hpp"
#include "control/websocket.hpp"

namespace tern::control {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
    s.remove_suffix(1);
  return s;
}

bool contains_token(std::string_view list, std::string_view token) {
  return lower(list).find(lower(token)) != std::string::npos;
}

}  // namespace

std::string_view HttpResponseHead::header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (k == name) return v;
  }
  return {};
}

ResponseParsed parse_http_response_head(std::string_view data, HttpResponseHead& out) {
  const size_t end = data.find("\r\n\r\n");
  if (end == std::string_view::npos) {
    return {data.size() > kMaxResponseHead ? ResponseParse::kBad : ResponseParse::kIncomplete, 0};
  }
  if (end + 4 > kMaxResponseHead) return {ResponseParse::kBad, 0};
  std::string_view head = data.substr(0, end + 2);
  // Status line: HTTP/1.x SP 3DIGIT SP reason
  const size_t eol = head.find("\r\n");
  std::string_view status_line = head.substr(0, eol);
  if (!status_line.starts_with("HTTP/1.") || status_line.size() < 12 || status_line[8] != ' ') {
    return {ResponseParse::kBad, 0};
  }
  auto code = parse_decimal(status_line.substr(9, 3), 999);
  if (!code || *code < 100) return {ResponseParse::kBad, 0};
  out = HttpResponseHead{};
  out.status = static_cast<int>(*code);
  head.remove_prefix(eol + 2);
  while (!head.empty()) {
    const size_t nl = head.find("\r\n");
    std::string_view line = head.substr(0, nl);
    head.remove_prefix(nl + 2);
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) return {ResponseParse::kBad, 0};
    std::string name = lower(line.substr(0, colon));
    std::string_view value = trim(line.substr(colon + 1));
    if (name == "content-length") {
      auto n = parse_decimal(value, kMaxResponseBody);
      if (!n || out.has_content_length) return {ResponseParse::kBad, 0};
      out.content_length = static_cast<size_t>(*n);
      out.has_content_length = true;
    }
    if (out.headers.size() >= 100) return {ResponseParse::kBad, 0};
    out.headers.emplace_back(std::move(name), std::string(value));
  }
  return {ResponseParse::kOk, end + 4};
}

Result<ControlUrl> parse_control_url(std::string_view url) {
  ControlUrl u;
  std::string_view rest;
  if (url.starts_with("https://")) {
    rest = url.substr(8);
  } else if (url.starts_with("http://")) {
    u.tls = false;
    rest = url.substr(7);
  } else {
    return fail(
        "the control URL must start with https:// (http:// only for a development "
        "server on loopback)");
  }
  rest = rest.substr(0, rest.find('/'));
  if (rest.empty()) return fail("the control URL has no host");
  const size_t close = rest.find(']');
  const size_t colon = rest.rfind(':');
  const bool has_port =
      colon != std::string_view::npos && (close == std::string_view::npos || colon > close);
  std::string_view host = has_port ? rest.substr(0, colon) : rest;
  if (has_port && !parse_decimal(rest.substr(colon + 1), 65535)) {
    return fail("the control URL's port is not a number up to 65535");
  }
  u.host_port = has_port ? std::string(rest) : std::string(rest) + (u.tls ? ":443" : ":80");
  if (host.starts_with('[') && host.ends_with(']')) host = host.substr(1, host.size() - 2);
  if (host.empty()) return fail("the control URL has no host");
  u.host = std::string(host);
  return u;
}

std::string register_http_request(std::string_view host, std::string_view body) {
  std::string r = "POST /api/v1/register HTTP/1.1\r\nHost: ";
  r += host;
  r += "\r\nConnection: close\r\nAccept: application/json\r\nContent-Type: application/json\r\n";
  r += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n";
  r += body;
  return r;
}

std::string ws_client_key(const std::array<uint8_t, 16>& random) {
  std::array<char, 25> out{};  // 4 * ceil(16 / 3) + NUL
  sodium_bin2base64(out.data(), out.size(), random.data(), random.size(),
                    sodium_base64_VARIANT_ORIGINAL);
  return std::string(out.data());
}

std::string stream_http_request(std::string_view host, std::string_view token,
                                std::string_view ws_key) {
  std::string r = "GET /api/v1/stream HTTP/1.1\r\nHost: ";
  r += host;
  r += "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n";
  r += "Sec-WebSocket-Key: ";
  r += ws_key;
  r += "\r\nAuthorization: Bearer ";
  r += token;
  r += "\r\n\r\n";
  return r;
}

Status check_stream_upgrade(const HttpResponseHead& head, std::string_view ws_key) {
  if (head.status != 101) return fail("the server answered " + std::to_string(head.status));
  if (!contains_token(head.header("upgrade"), "websocket")) {
    return fail("the server's 101 does not upgrade to websocket");
  }
  if (head.header("sec-websocket-accept") != ws_accept_key(ws_key)) {
    return fail("the server's Sec-WebSocket-Accept is wrong");
  }
  return {};
}

std::string error_text(int status, std::string_view body) {
  const auto j = nlohmann::json::parse(body, nullptr, false);
  std::string text = "HTTP " + std::to_string(status);
  if (!j.is_discarded() && j.is_object() && j.contains("error") && j.at("error").is_string()) {
    return text + ": " + j.at("error").get<std::string>();
  }
  std::string raw(body.substr(0, 120));
  std::replace_if(
      raw.begin(), raw.end(), [](char c) { return c < 32 || c > 126; }, '?');
  return raw.empty() ? text : text + ": " + raw;
}

}  // namespace tern::control

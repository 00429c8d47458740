#include "cli/control_client.hpp"

#include "agent/resolve.hpp"
#include "base/decimal.hpp"
#include "io/client_conn.hpp"
#include "io/clock.hpp"

namespace tern::cli {
namespace {

constexpr Duration kTimeout = std::chrono::seconds(15);
constexpr size_t kMaxReply = 16 << 20;

struct Url {
  bool tls = true;
  std::string host;  // as written, for the certificate check
  std::string host_port;
};

Result<Url> parse_url(const std::string& url) {
  Url u;
  std::string rest;
  if (url.starts_with("https://")) {
    rest = url.substr(8);
  } else if (url.starts_with("http://")) {
    u.tls = false;
    rest = url.substr(7);
  } else {
    return fail("--url must start with https:// (or http:// for a --dev-plain-http server)");
  }
  rest = rest.substr(0, rest.find('/'));
  if (rest.empty()) return fail("--url has no host");
  // "[v6]:port", "host:port"; without a port, 443 (80 for http).
  const size_t close = rest.find(']');
  const size_t colon = rest.rfind(':');
  const bool has_port = colon != std::string::npos && (close == std::string::npos || colon > close);
  u.host = has_port ? rest.substr(0, colon) : rest;
  if (u.host.starts_with('[') && u.host.ends_with(']'))
    u.host = u.host.substr(1, u.host.size() - 2);
  u.host_port = has_port ? rest : rest + (u.tls ? ":443" : ":80");
  return u;
}

Result<ApiReply> parse_reply(const std::string& wire) {
  const size_t end = wire.find("\r\n\r\n");
  if (!wire.starts_with("HTTP/1.") || end == std::string::npos || wire.size() < 12) {
    return fail("the control server's answer is not HTTP");
  }
  ApiReply r;
  const auto code = parse_decimal(std::string_view(wire).substr(9, 3), 999);
  if (!code) return fail("the control server's answer has no status code");
  r.status = static_cast<int>(*code);
  r.body = wire.substr(end + 4);
  return r;
}

}  // namespace

Result<ApiReply> api_call(const ApiTarget& target, const std::string& method,
                          const std::string& path, const std::string& body) {
  auto url = parse_url(target.url);
  if (!url) return tl::unexpected(url.error());
  auto ep = agent::resolve_endpoint(url->host_port);
  if (!ep) return fail("--url: " + ep.error().message);
  const Instant deadline = io::monotonic_now() + kTimeout;
  auto conn = io::ClientConn::connect({*ep, url->tls, url->host, target.ca_file}, deadline);
  if (!conn) return tl::unexpected(conn.error());

  std::string request = method + " " + path + " HTTP/1.1\r\nHost: " + url->host_port +
                        "\r\nConnection: close\r\nAccept: application/json\r\n";
  if (!target.token.empty()) request += "Authorization: Bearer " + target.token + "\r\n";
  if (!body.empty() || method == "POST") {
    request +=
        "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
  }
  request += "\r\n" + body;
  if (auto st = conn->write_all(request, deadline); !st) return tl::unexpected(st.error());
  std::string reply;
  for (;;) {
    auto more = conn->read_some(reply, deadline);
    if (!more) {
      if (!reply.empty()) break;  // some servers reset after answering
      return tl::unexpected(more.error());
    }
    if (!*more) break;
    if (reply.size() > kMaxReply) return fail("the control server's answer is too large");
    if (io::monotonic_now() >= deadline) return fail("the control server did not answer in time");
  }
  return parse_reply(reply);
}

}  // namespace tern::cli

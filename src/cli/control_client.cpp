#include "cli/control_client.hpp"

#include <array>
#include <optional>
#include <variant>

#include "agent/resolve.hpp"
#include "base/decimal.hpp"
#include "io/clock.hpp"
#include "io/poller.hpp"
#include "io/tcp_stream.hpp"
#include "io/tls_stream.hpp"

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

class Stream {
 public:
  explicit Stream(io::TcpStream tcp) : s_(std::move(tcp)) {}
  explicit Stream(io::TlsStream tls) : s_(std::move(tls)) {}
  int fd() const {
    return std::visit([](const auto& s) { return s.fd(); }, s_);
  }
  Result<io::IoResult> read(MutableBytes b) {
    return std::visit([&](auto& s) { return s.read(b); }, s_);
  }
  Result<io::IoResult> write(Bytes b) {
    return std::visit([&](auto& s) { return s.write(b); }, s_);
  }
  io::TlsStream* tls() { return std::get_if<io::TlsStream>(&s_); }

 private:
  std::variant<io::TcpStream, io::TlsStream> s_;
};

// Waits for `wait` on `fd` until `deadline`.
Status wait_for(io::Poller& poller, int fd, io::IoWait wait, Instant deadline) {
  if (auto st = poller.modify(fd, 1, wait == io::IoWait::kRead, wait == io::IoWait::kWrite); !st) {
    return st;
  }
  const Instant now = io::monotonic_now();
  if (now >= deadline) return fail("the control server did not answer in time");
  std::array<io::Ready, 1> ready{};
  auto n = poller.wait(deadline - now, ready);
  if (!n) return tl::unexpected(n.error());
  return {};
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

  auto poller = io::Poller::create();
  if (!poller) return tl::unexpected(poller.error());
  auto tcp = io::TcpStream::connect(*ep);
  if (!tcp) return tl::unexpected(tcp.error());
  if (auto st = poller->add(tcp->fd(), 1, false, true); !st) return tl::unexpected(st.error());
  for (;;) {
    auto done = tcp->finish_connect();
    if (!done) return tl::unexpected(done.error());
    if (*done) break;
    if (auto st = wait_for(*poller, tcp->fd(), io::IoWait::kWrite, deadline); !st) {
      return tl::unexpected(st.error());
    }
  }
  std::optional<Stream> stream;
  if (url->tls) {
    io::TlsClientOptions options;
    options.ca_file = target.ca_file;
    auto ctx = io::TlsContext::client(options);
    if (!ctx) return tl::unexpected(ctx.error());
    auto tls = io::TlsStream::client(*ctx, std::move(*tcp), url->host);
    if (!tls) return tl::unexpected(tls.error());
    stream.emplace(std::move(*tls));
    for (;;) {
      auto r = stream->tls()->handshake();
      if (!r) return tl::unexpected(r.error());
      if (!r->would_block()) break;
      if (auto st = wait_for(*poller, stream->fd(), r->wait, deadline); !st) {
        return tl::unexpected(st.error());
      }
    }
  } else {
    stream.emplace(std::move(*tcp));
  }

  std::string request = method + " " + path + " HTTP/1.1\r\nHost: " + url->host_port +
                        "\r\nConnection: close\r\nAccept: application/json\r\n";
  if (!target.token.empty()) request += "Authorization: Bearer " + target.token + "\r\n";
  if (!body.empty() || method == "POST") {
    request +=
        "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
  }
  request += "\r\n" + body;
  size_t sent = 0;
  while (sent < request.size()) {
    auto w = stream->write(
        Bytes(reinterpret_cast<const uint8_t*>(request.data()) + sent, request.size() - sent));
    if (!w) return tl::unexpected(w.error());
    if (w->would_block()) {
      if (auto st = wait_for(*poller, stream->fd(), w->wait, deadline); !st) {
        return tl::unexpected(st.error());
      }
      continue;
    }
    sent += w->bytes;
  }
  std::string reply;
  std::array<uint8_t, 16384> buf;
  for (;;) {
    auto r = stream->read(buf);
    if (!r) {
      if (!reply.empty()) break;  // some servers reset after answering
      return tl::unexpected(r.error());
    }
    if (r->closed) break;
    if (r->would_block()) {
      if (auto st = wait_for(*poller, stream->fd(), r->wait, deadline); !st) {
        return tl::unexpected(st.error());
      }
      continue;
    }
    reply.append(reinterpret_cast<const char*>(buf.data()), r->bytes);
    if (reply.size() > kMaxReply) return fail("the control server's answer is too large");
  }
  return parse_reply(reply);
}

}  // namespace tern::cli

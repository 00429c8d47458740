#include "relayd/metrics_http.hpp"

#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "base/log.hpp"
#include "io/sockaddr.hpp"
#include "relayd/http_request.hpp"

namespace tern::relayd {
namespace {

std::string reply(std::string_view status, std::string_view content_type, std::string_view body,
                  bool with_body = true) {
  std::string r = "HTTP/1.1 ";
  r += status;
  r += "\r\nContent-Type: ";
  r += content_type;
  r += "\r\nContent-Length: ";
  r += std::to_string(body.size());
  r += "\r\nConnection: close\r\n\r\n";
  if (with_body) r += body;
  return r;
}

std::string error_reply(std::string_view status) {
  std::string body = std::string(status) + "\n";
  return reply(status, "text/plain; charset=utf-8", body);
}

}  // namespace

std::string http_response(std::string_view head, bool complete,
                          const std::function<std::string()>& body) {
  HttpRequestLine line;
  switch (parse_http_head(head, line)) {
    case HttpParse::kIncomplete:
      return complete ? error_reply("400 Bad Request") : std::string();
    case HttpParse::kBad:
      return error_reply("400 Bad Request");
    case HttpParse::kTooLarge:
      return error_reply("431 Request Header Fields Too Large");
    case HttpParse::kOk:
      break;
  }
  if (line.target != "/metrics") return error_reply("404 Not Found");
  if (line.method != "GET" && line.method != "HEAD") {
    std::string r = error_reply("405 Method Not Allowed");
    r.insert(r.find("\r\n") + 2, "Allow: GET, HEAD\r\n");
    return r;
  }
  return reply("200 OK", "text/plain; version=0.0.4; charset=utf-8", body(), line.method == "GET");
}

Result<MetricsServer> MetricsServer::listen(const Endpoint& at, io::Poller& poller,
                                            uint64_t token_base) {
  const bool v6 = at.address.is_v6();
  io::UniqueFd fd(::socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd) return fail(std::string("--metrics: cannot create a TCP socket: ") + strerror(errno));
  int one = 1;
  (void)::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (v6) (void)::setsockopt(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
  sockaddr_storage ss{};
  socklen_t len = io::to_sockaddr(at, v6, ss);
  if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&ss), len) != 0) {
    int err = errno;
    return fail("--metrics " + at.to_string() + ": cannot listen there: " + strerror(err) +
                (err == EADDRINUSE      ? " (another process has that port: choose another)"
                 : err == EADDRNOTAVAIL ? " (no interface has that address)"
                                        : ""));
  }
  if (::listen(fd.get(), 64) != 0) {
    return fail(std::string("--metrics: listen failed: ") + strerror(errno));
  }
  sockaddr_storage bound{};
  socklen_t blen = sizeof bound;
  (void)::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&bound), &blen);
  uint16_t port = io::from_sockaddr(bound).port;
  if (auto st = poller.add(fd.get(), token_base, true, false); !st) return fail(st.error().message);
  return MetricsServer(std::move(fd), poller, token_base, port);
}

void MetricsServer::ready(uint64_t token, Instant now, const std::function<std::string()>& body) {
  if (token == token_base_) {
    accept_all(now);
    return;
  }
  size_t slot = token - token_base_ - 1;
  if (slot >= conns_.size() || !conns_[slot].fd) return;
  if (conns_[slot].out.empty()) {
    read(slot, body);
  } else {
    write(slot);
  }
}

void MetricsServer::accept_all(Instant now) {
  while (open_ < kMaxConnections) {
    int c = ::accept4(listener_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (c < 0) {
      if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
        log::debug("metrics: accept failed: {}", strerror(errno));
      }
      break;
    }
    size_t slot = 0;
    while (conns_[slot].fd)
      ++slot;
    Connection& k = conns_[slot];
    k.fd.reset(c);
    k.deadline = now + kConnectionTimeout;
    k.in.clear();
    k.out.clear();
    k.sent = 0;
    if (!poller_->add(c, token_base_ + 1 + slot, true, false)) {
      k.fd.reset();
      continue;
    }
    ++open_;
  }
  // Full: stop accepting until a connection closes (the backlog holds the rest).
  (void)poller_->modify(listener_.get(), token_base_, open_ < kMaxConnections, false);
}

void MetricsServer::read(size_t slot, const std::function<std::string()>& body) {
  Connection& k = conns_[slot];
  char buf[1024];
  for (;;) {
    ssize_t n = ::recv(k.fd.get(), buf, sizeof buf, 0);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    if (n < 0 && errno == EINTR) continue;
    const bool eof = n <= 0;
    if (eof && k.in.empty()) {
      close(slot);
      return;
    }
    if (!eof) k.in.append(buf, static_cast<size_t>(n));
    std::string r = http_response(k.in, eof || k.in.size() >= kMaxHttpHead, body);
    if (!r.empty()) {
      k.out = std::move(r);
      (void)::shutdown(k.fd.get(), SHUT_RD);
      write(slot);
      return;
    }
    if (eof) {
      close(slot);
      return;
    }
  }
}

void MetricsServer::write(size_t slot) {
  Connection& k = conns_[slot];
  while (k.sent < k.out.size()) {
    ssize_t n = ::send(k.fd.get(), k.out.data() + k.sent, k.out.size() - k.sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      (void)poller_->modify(k.fd.get(), token_base_ + 1 + slot, false, true);
      return;
    }
    if (n <= 0) break;  // the client went away
    k.sent += static_cast<size_t>(n);
  }
  close(slot);
}

void MetricsServer::close(size_t slot) {
  Connection& k = conns_[slot];
  if (!k.fd) return;
  poller_->remove(k.fd.get());
  k.fd.reset();
  k.in.clear();
  k.out.clear();
  k.sent = 0;
  if (open_-- == kMaxConnections) {
    (void)poller_->modify(listener_.get(), token_base_, true, false);
  }
}

void MetricsServer::expire(Instant now) {
  for (size_t i = 0; i < conns_.size(); ++i) {
    if (conns_[i].fd && conns_[i].deadline <= now) close(i);
  }
}

std::optional<Instant> MetricsServer::next_deadline() const {
  std::optional<Instant> next;
  for (const auto& k : conns_) {
    if (k.fd && (!next || k.deadline < *next)) next = k.deadline;
  }
  return next;
}

}  // namespace tern::relayd

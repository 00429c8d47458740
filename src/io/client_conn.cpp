#include "io/client_conn.hpp"

#include <array>

#include "io/clock.hpp"
#include "io/tls_context.hpp"

namespace tern::io {

Result<ClientConn> ClientConn::connect(const ClientTarget& target, Instant deadline) {
  auto poller = Poller::create();
  if (!poller) return tl::unexpected(poller.error());
  auto tcp = TcpStream::connect(target.to);
  if (!tcp) return tl::unexpected(tcp.error());
  if (auto st = poller->add(tcp->fd(), 1, false, true); !st) return tl::unexpected(st.error());
  for (;;) {
    auto done = tcp->finish_connect();
    if (!done) return tl::unexpected(done.error());
    if (*done) break;
    const Instant now = monotonic_now();
    if (now >= deadline) return fail("connecting to " + target.to.to_string() + " timed out");
    std::array<Ready, 1> ready{};
    (void)poller->wait(deadline - now, ready);
  }
  if (!target.tls) return ClientConn(std::move(*tcp), std::move(*poller));
  TlsClientOptions options;
  options.ca_file = target.ca_file;
  auto ctx = TlsContext::client(options);
  if (!ctx) return tl::unexpected(ctx.error());
  auto tls = TlsStream::client(*ctx, std::move(*tcp), target.host);
  if (!tls) return tl::unexpected(tls.error());
  ClientConn c(std::move(*tls), std::move(*poller));
  for (;;) {
    auto r = std::get<TlsStream>(c.s_).handshake();
    if (!r) return tl::unexpected(r.error());
    if (!r->would_block()) break;
    if (!c.wait(r->wait, deadline))
      return fail("the TLS handshake with " + target.host + " timed out");
  }
  return c;
}

int ClientConn::fd() const {
  return std::visit([](const auto& s) { return s.fd(); }, s_);
}

bool ClientConn::wait(IoWait wait, Instant deadline) {
  if (!poller_.modify(fd(), 1, wait == IoWait::kRead, wait == IoWait::kWrite)) return false;
  const Instant now = monotonic_now();
  if (now >= deadline) return false;
  std::array<Ready, 1> ready{};
  auto n = poller_.wait(deadline - now, ready);
  return n && *n > 0;
}

Status ClientConn::write_all(std::string_view data, Instant deadline) {
  size_t sent = 0;
  while (sent < data.size()) {
    const Bytes rest(reinterpret_cast<const uint8_t*>(data.data()) + sent, data.size() - sent);
    auto w = std::visit([&](auto& s) { return s.write(rest); }, s_);
    if (!w) return tl::unexpected(w.error());
    if (w->would_block()) {
      if (!wait(w->wait, deadline)) return fail("writing timed out");
      continue;
    }
    sent += w->bytes;
  }
  return {};
}

Result<bool> ClientConn::read_some(std::string& into, Instant deadline) {
  std::array<uint8_t, 16384> buf;
  for (;;) {
    auto r = std::visit([&](auto& s) { return s.read(buf); }, s_);
    if (!r) return tl::unexpected(r.error());
    if (r->closed) return false;
    if (r->would_block()) {
      if (!wait(r->wait, deadline)) return true;
      continue;
    }
    into.append(reinterpret_cast<const char*>(buf.data()), r->bytes);
    return true;
  }
}

}  // namespace tern::io

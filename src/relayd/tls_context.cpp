#include "relayd/tls_context.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "io/tcp_stream.hpp"
#include "io/tls_context.hpp"
#include "io/tls_stream.hpp"

namespace tern::relayd {
namespace {

StreamIo::Outcome outcome(const Result<io::IoResult>& r) {
  if (!r) return {StreamIo::kTlsError};
  if (r->closed) return {StreamIo::kClosed};
  if (r->would_block()) return {StreamIo::kWouldBlock, 0, r->wait == io::IoWait::kWrite};
  return {StreamIo::kOk, r->bytes};
}

class OpenSslSession final : public TlsSession {
 public:
  explicit OpenSslSession(io::TlsStream stream) : stream_(std::move(stream)) {}
  StreamIo::Outcome read(MutableBytes into) override {
    auto o = outcome(stream_.read(into));
    wants_write_ = o.wants_write;
    return o;
  }
  StreamIo::Outcome write(Bytes data) override {
    auto o = outcome(stream_.write(data));
    wants_write_ = o.wants_write;
    return o;
  }
  bool wants_write() const override { return wants_write_; }

 private:
  io::TlsStream stream_;
  bool wants_write_ = false;
};

class OpenSslContext final : public TlsContext {
 public:
  explicit OpenSslContext(io::TlsContext ctx) : ctx_(std::move(ctx)) {}
  Result<std::unique_ptr<TlsSession>> accept(io::UniqueFd fd) const override {
    auto tcp = io::TcpStream::adopt(std::move(fd));
    if (!tcp) return fail(tcp.error().message);
    auto tls = io::TlsStream::server(ctx_, std::move(*tcp));
    if (!tls) return fail(tls.error().message);
    return std::unique_ptr<TlsSession>(std::make_unique<OpenSslSession>(std::move(*tls)));
  }

 private:
  io::TlsContext ctx_;
};

Status readable(const std::string& path, const char* option) {
  FILE* f = std::fopen(path.c_str(), "r");
  if (f == nullptr) {
    return fail(std::string(option) + " " + path + ": cannot read it: " + strerror(errno) +
                " (give the PEM file's path; the relay reads it at start)");
  }
  std::fclose(f);
  return {};
}

}  // namespace

Result<std::unique_ptr<TlsContext>> TlsContext::load(const std::string& cert_path,
                                                     const std::string& key_path) {
  if (auto st = readable(cert_path, "--tls-cert"); !st) return fail(st.error().message);
  if (auto st = readable(key_path, "--tls-key"); !st) return fail(st.error().message);
  auto ctx = io::TlsContext::server(cert_path, key_path);
  if (!ctx) {
    const std::string& m = ctx.error().message;
    // The key is at fault when it does not load or belongs to another certificate.
    const bool key = m.find("private key") != std::string::npos;
    return fail(std::string(key ? "--tls-key " + key_path : "--tls-cert " + cert_path) + ": " + m);
  }
  return std::unique_ptr<TlsContext>(std::make_unique<OpenSslContext>(std::move(*ctx)));
}

}  // namespace tern::relayd

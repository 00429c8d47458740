#include "io/tls_stream.hpp"

#include <errno.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <fmt/core.h>

#include "base/ip.hpp"
#include "io/sys_error.hpp"

namespace tern::io {

struct TlsStream::State {
  explicit State(TcpStream t) : tcp(std::move(t)) {}
  ~State() { SSL_free(ssl); }
  State(const State&) = delete;
  State& operator=(const State&) = delete;

  TcpStream tcp;
  SSL* ssl = nullptr;
  std::string server_name;
  bool server = false;
  bool insecure = false;
  bool done = false;
  std::string alert_received;  // the last alert the peer sent, by its long name
  std::string alert_sent;
};

namespace {

void on_info(const SSL* ssl, int where, int ret) {
  if ((where & SSL_CB_ALERT) == 0) return;
  auto* state = static_cast<TlsStream::State*>(SSL_get_app_data(ssl));
  if (state == nullptr) return;
  std::string desc = SSL_alert_desc_string_long(ret);
  if (desc == "close notify") return;
  ((where & SSL_CB_READ) != 0 ? state->alert_received : state->alert_sent) = desc;
}

// What an alert usually means, as a hint to put after its name.
std::string alert_hint(const std::string& alert) {
  if (alert == "handshake failure") return ": no TLS version or cipher in common";
  if (alert == "protocol version") return ": the peer needs a TLS version we do not offer";
  if (alert == "unrecognized name") return ": the server has no certificate for that name";
  if (alert == "unknown CA" || alert == "bad certificate" || alert == "certificate unknown") {
    return ": the peer does not trust the certificate it was shown";
  }
  if (alert == "certificate expired") return ": the peer found our certificate expired";
  return "";
}

bool is_not_tls(unsigned long code) {
  if (ERR_GET_LIB(code) != ERR_LIB_SSL) return false;
  int reason = ERR_GET_REASON(code);
  return reason == SSL_R_WRONG_VERSION_NUMBER || reason == SSL_R_PACKET_LENGTH_TOO_LONG ||
         reason == SSL_R_HTTP_REQUEST || reason == SSL_R_UNKNOWN_PROTOCOL;
}

}  // namespace

TlsStream::TlsStream(std::unique_ptr<State> state) : state_(std::move(state)) {}
TlsStream::TlsStream(TlsStream&&) noexcept = default;
TlsStream& TlsStream::operator=(TlsStream&&) noexcept = default;
TlsStream::~TlsStream() = default;

TcpStream& TlsStream::tcp() {
  return state_->tcp;
}
const TcpStream& TlsStream::tcp() const {
  return state_->tcp;
}
bool TlsStream::handshake_done() const {
  return state_->done;
}

Result<TlsStream> TlsStream::client(const TlsContext& ctx, TcpStream tcp,
                                    const std::string& server_name) {
  if (ctx.is_server()) return fail("a TLS client needs a client context");
  auto state = std::make_unique<State>(std::move(tcp));
  state->ssl = SSL_new(ctx.native());
  if (state->ssl == nullptr)
    return fail("creating a TLS session failed: " + openssl_error_text("?"));
  state->server_name = server_name;
  state->insecure = ctx.insecure();
  SSL* ssl = state->ssl;
  SSL_set_app_data(ssl, state.get());
  SSL_set_info_callback(ssl, on_info);
  bool is_address = IpAddress::parse(server_name).has_value();
  // SNI carries names only (RFC 6066 §3).
  if (!is_address && !server_name.empty()) SSL_set_tlsext_host_name(ssl, server_name.c_str());
  if (!ctx.insecure() && !server_name.empty()) {
    int ok = is_address ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), server_name.c_str())
                        : SSL_set1_host(ssl, server_name.c_str());
    if (ok != 1) return fail(fmt::format("'{}' is not a name TLS can check", server_name));
  }
  if (SSL_set_fd(ssl, state->tcp.fd()) != 1) {
    return fail("attaching TLS to the socket failed: " + openssl_error_text("?"));
  }
  SSL_set_connect_state(ssl);
  return TlsStream(std::move(state));
}

Result<TlsStream> TlsStream::server(const TlsContext& ctx, TcpStream tcp) {
  if (!ctx.is_server()) return fail("a TLS server needs a server context (certificate and key)");
  auto state = std::make_unique<State>(std::move(tcp));
  state->ssl = SSL_new(ctx.native());
  if (state->ssl == nullptr)
    return fail("creating a TLS session failed: " + openssl_error_text("?"));
  state->server = true;
  SSL_set_app_data(state->ssl, state.get());
  SSL_set_info_callback(state->ssl, on_info);
  if (SSL_set_fd(state->ssl, state->tcp.fd()) != 1) {
    return fail("attaching TLS to the socket failed: " + openssl_error_text("?"));
  }
  SSL_set_accept_state(state->ssl);
  return TlsStream(std::move(state));
}

std::optional<TlsCertificateFacts> TlsStream::peer_certificate() const {
  X509* cert = SSL_get0_peer_certificate(state_->ssl);
  if (cert == nullptr) {
    // After a failed verification the leaf is only in the chain the peer sent.
    STACK_OF(X509)* chain = SSL_get_peer_cert_chain(state_->ssl);
    if (chain != nullptr && sk_X509_num(chain) > 0) cert = sk_X509_value(chain, 0);
  }
  if (cert == nullptr) return std::nullopt;
  return certificate_facts(cert, SSL_get_verify_result(state_->ssl),
                           state_->server ? std::string() : state_->server_name);
}

std::string TlsStream::protocol() const {
  return SSL_get_version(state_->ssl);
}

std::string TlsStream::cipher() const {
  const char* name = SSL_get_cipher_name(state_->ssl);
  return name != nullptr ? name : "";
}

std::string TlsStream::handshake_failure_text(int ssl_error) {
  const State& s = *state_;
  std::string who = s.server ? fmt::format("the client {}", s.tcp.peer().to_string())
                             : fmt::format("the server {}", s.tcp.peer().to_string());
  std::string prefix = s.server
                           ? fmt::format("TLS handshake from {} failed", s.tcp.peer().to_string())
                           : fmt::format("TLS handshake with {} ({}) failed", s.server_name,
                                         s.tcp.peer().to_string());
  unsigned long code = ERR_peek_error();
  if (!s.server && !s.insecure && SSL_get_verify_result(s.ssl) != X509_V_OK) {
    if (auto facts = peer_certificate()) {
      std::string problem = certificate_problem(*facts, s.server_name);
      if (problem.empty()) problem = facts->verify_error;
      ERR_clear_error();
      return fmt::format("{}: {}", prefix, problem);
    }
  }
  if (!s.alert_received.empty()) {
    ERR_clear_error();
    return fmt::format("{}: {} sent the alert '{}'{}", prefix, who, s.alert_received,
                       alert_hint(s.alert_received));
  }
  if (is_not_tls(code)) {
    ERR_clear_error();
    return fmt::format(
        "{}: {} does not speak TLS on this port (a plain TURN port? turns: "
        "normally uses 5349)",
        prefix, who);
  }
  if (ssl_error == SSL_ERROR_SYSCALL || ssl_error == SSL_ERROR_ZERO_RETURN ||
      (code != 0 && ERR_GET_REASON(code) == SSL_R_UNEXPECTED_EOF_WHILE_READING)) {
    int err = errno;
    ERR_clear_error();
    if (ssl_error == SSL_ERROR_SYSCALL && err != 0 && err != EAGAIN) {
      return fmt::format("{}: {}", prefix, connect_error_text(s.tcp.peer(), err));
    }
    return fmt::format(
        "{}: {} closed the connection in the handshake (no TLS there, or it "
        "rejected us without an alert)",
        prefix, who);
  }
  std::string text = openssl_error_text("unknown error");
  if (!s.alert_sent.empty()) text += fmt::format(" (we sent the alert '{}')", s.alert_sent);
  return fmt::format("{}: {}", prefix, text);
}

Result<IoResult> TlsStream::failed(int ssl_error, const char* what) {
  switch (ssl_error) {
    case SSL_ERROR_WANT_READ:
      return IoResult{0, IoWait::kRead, false};
    case SSL_ERROR_WANT_WRITE:
      return IoResult{0, IoWait::kWrite, false};
    case SSL_ERROR_ZERO_RETURN:
      if (state_->done) return IoResult{0, IoWait::kNone, true};
      break;
    default:
      break;
  }
  if (!state_->done) return fail(handshake_failure_text(ssl_error));
  int err = errno;
  if (ssl_error == SSL_ERROR_SYSCALL) {
    ERR_clear_error();
    if (err == 0) return IoResult{0, IoWait::kNone, true};
    return fail(fmt::format("TLS {} {} failed: {}", what, state_->tcp.peer().to_string(),
                            connect_error_text(state_->tcp.peer(), err)));
  }
  return fail(fmt::format("TLS {} {} failed: {}", what, state_->tcp.peer().to_string(),
                          openssl_error_text("unknown error")));
}

Result<IoResult> TlsStream::handshake() {
  State& s = *state_;
  if (s.done) return IoResult{};
  if (!s.tcp.connected()) {
    auto connected = s.tcp.finish_connect();
    if (!connected) return tl::unexpected(connected.error());
    if (!*connected) return IoResult{0, IoWait::kWrite, false};
  }
  ERR_clear_error();
  errno = 0;
  int rc = SSL_do_handshake(s.ssl);
  if (rc == 1) {
    s.done = true;
    return IoResult{};
  }
  return failed(SSL_get_error(s.ssl, rc), "handshake with");
}

Result<IoResult> TlsStream::read(MutableBytes buf) {
  if (!state_->done) {
    auto hs = handshake();
    if (!hs || hs->would_block()) return hs;
  }
  if (buf.empty()) return IoResult{};
  ERR_clear_error();
  errno = 0;
  size_t n = 0;
  int rc = SSL_read_ex(state_->ssl, buf.data(), buf.size(), &n);
  if (rc == 1) return IoResult{n, IoWait::kNone, false};
  return failed(SSL_get_error(state_->ssl, rc), "read from");
}

Result<IoResult> TlsStream::write(Bytes data) {
  if (!state_->done) {
    auto hs = handshake();
    if (!hs || hs->would_block()) return hs;
  }
  if (data.empty()) return IoResult{};
  ERR_clear_error();
  errno = 0;
  size_t n = 0;
  int rc = SSL_write_ex(state_->ssl, data.data(), data.size(), &n);
  if (rc == 1) return IoResult{n, IoWait::kNone, false};
  return failed(SSL_get_error(state_->ssl, rc), "write to");
}

void TlsStream::shutdown() {
  if (state_ && state_->done) {
    ERR_clear_error();
    (void)SSL_shutdown(state_->ssl);
    ERR_clear_error();
  }
}

}  // namespace tern::io

// The doctor's stream to a TURN server over TCP or TLS (turn:...?transport=tcp, turns:):
// STUN messages and ChannelData framed on the stream (RFC 8489 §6.2.2, RFC 8656 §12.5),
// while relayed data still leaves the server over UDP (RFC 6062 is not needed). Connecting
// and the TLS handshake are timed, and the server's certificate is kept for the report.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <tl/expected.hpp>

#include "base/bytes.hpp"
#include "base/ip.hpp"
#include "base/result.hpp"
#include "base/time.hpp"
#include "io/tcp_stream.hpp"
#include "io/tls_certificate.hpp"
#include "io/tls_stream.hpp"
#include "wire/stun_tcp_framing.hpp"

namespace tern::doctor {

struct RelayStreamSetup {
  bool tls = false;
  std::string server_name;  // SNI and the name the certificate should cover
  std::string ca_file;      // empty: the system's CAs
  Duration timeout = std::chrono::seconds(5);
};

// Which step of setting up the stream failed.
struct RelayStreamFailure {
  enum class Step : uint8_t { kConnect, kTls } step = Step::kConnect;
  std::string message;
};

struct RelayStreamFacts {
  Duration connect_time{};
  std::optional<Duration> handshake_time;  // TLS only
  std::string protocol;                    // "TLSv1.3"
  std::string cipher;
  std::optional<io::TlsCertificateFacts> certificate;
};

class RelayStream {
 public:
  // Connects, and for TLS handshakes, within setup.timeout. The TLS handshake never fails on
  // the certificate: the doctor reports what it found (facts().certificate) and goes on.
  [[nodiscard]] static tl::expected<RelayStream, RelayStreamFailure> connect(
      const Endpoint& server, const RelayStreamSetup& setup);

  int fd() const;
  const Endpoint& server() const { return server_; }
  const RelayStreamFacts& facts() const { return facts_; }
  // True while bytes wait for the socket to take them (poll for writability).
  bool wants_write() const;

  // Queues one frame and writes what the socket takes now. 0, or ENOBUFS when more than
  // kMaxQueued bytes already wait (the frame is dropped).
  int send(Bytes frame);
  static constexpr size_t kMaxQueued = 4 << 20;
  // Writes queued bytes; an error when the connection broke.
  [[nodiscard]] Status flush();
  // Reads all that is there and hands each whole frame to `on_frame`. An error, naming the
  // cause, when the server closed the connection or sent something that is not STUN.
  [[nodiscard]] Status receive(const std::function<void(Bytes)>& on_frame);

 private:
  RelayStream(Endpoint server, std::optional<io::TcpStream> tcp, std::optional<io::TlsStream> tls)
      : server_(server), tcp_(std::move(tcp)), tls_(std::move(tls)) {}
  Result<io::IoResult> read(MutableBytes buf);
  Result<io::IoResult> write(Bytes data);

  Endpoint server_;
  std::optional<io::TcpStream> tcp_;  // plain TCP, or
  std::optional<io::TlsStream> tls_;  // TLS on it
  RelayStreamFacts facts_;
  wire::StunStreamFramer framer_;
  std::vector<uint8_t> out_;
  size_t out_start_ = 0;
  bool read_wants_write_ = false;
  std::vector<uint8_t> in_ = std::vector<uint8_t>(65536);
};

}  // namespace tern::doctor

// The control server's agent streams on their sockets. GET /api/v1/stream with the agent's
// stream token and a WebSocket upgrade is admitted here; from then on each connection's
// bytes go through its control::StreamSession, control::MapHub says what each agent is
// sent (the full map first, then deltas), and writes never wait: a stream that cannot keep
// up overflows its bound and is dropped, to come back for a full map.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string_view>
#include <variant>
#include <vector>

#include "base/ip.hpp"
#include "base/time.hpp"
#include "control/guess_limit.hpp"
#include "control/http.hpp"
#include "control/map_hub.hpp"
#include "control/store.hpp"
#include "control/stream_session.hpp"
#include "io/poller.hpp"
#include "io/tcp_stream.hpp"
#include "io/tls_stream.hpp"

namespace tern::cli {

// A server connection, TLS or (loopback development) plain.
using NetStream = std::variant<io::TcpStream, io::TlsStream>;
int net_fd(const NetStream& s);
[[nodiscard]] Result<io::IoResult> net_read(NetStream& s, MutableBytes buf);
[[nodiscard]] Result<io::IoResult> net_write(NetStream& s, std::string_view data);

inline constexpr std::string_view kStreamPath = "/api/v1/stream";

struct StreamOptions {
  size_t max_streams = 20'000;
  control::StreamLimits limits;
};

// A request the stream takes: whose it is and the accept key for the 101.
struct StreamAdmission {
  control::PeerRecord peer;
  std::string accept_key;
};

class StreamSet {
 public:
  StreamSet(control::Store& store, io::Poller& poller, std::vector<control::RelayConfig> relays,
            StreamOptions options)
      : store_(store), poller_(poller), hub_(std::move(relays)), options_(options) {}

  // A refusal to answer (401, 400, 429, 503) or the go-ahead for adopt().
  [[nodiscard]] std::variant<control::HttpResponse, StreamAdmission> admit(
      const control::HttpRequest& request, const IpAddress& client, Instant now);
  // The set owns the connection from here; it is in the poller under `token` already.
  // `rest`: bytes the agent sent after its request.
  void adopt(uint64_t token, NetStream stream, Endpoint peer, StreamAdmission admission,
             std::string_view rest, Instant now, int64_t now_unix);

  bool owns(uint64_t token) const { return conns_.contains(token); }
  // The socket of `token` is ready.
  void drive(uint64_t token, Instant now, int64_t now_unix);
  // Every stream's timers (pings, silence, closing, endpoints slots): call a few times a second.
  void tick(Instant now, int64_t now_unix);
  // The store may have changed (ours or another server's doing): pushes what changed when
  // the revision moved, or anyway with `force` (relay credentials roll over with time).
  void publish(bool force, Instant now, int64_t now_unix);
  // Something here changed the store: publish at the end of this loop turn.
  void mark_changed() { changed_ = true; }
  bool changed() const { return changed_; }
  // Close frames to all, written if the sockets take them now.
  void shutdown(Instant now);

  size_t size() const { return conns_.size(); }
  // Streams ended, by reason (control::StreamEnd).
  const std::array<uint64_t, 9>& ends() const { return ends_; }

 private:
  struct Conn {
    NetStream stream;
    Endpoint peer;
    crypto::Key key{};
    std::vector<Endpoint> endpoints;  // the last the agent reported (or had at the start)
    control::StreamSession session;
    Instant next_touch{};
    bool want_write = false;
    bool read_wants_write = false;
  };

  void events(Conn& c, Instant now, int64_t now_unix);
  // Writes what the socket takes; closes the stream when its session is finished.
  void flush(uint64_t token, Conn& c);
  void close(uint64_t token);
  // The peers at `revision` (one list per revision, shared by every stream that asks).
  const std::vector<control::PeerRecord>* peers_at(int64_t revision);

  control::Store& store_;
  io::Poller& poller_;
  control::MapHub hub_;
  StreamOptions options_;
  control::GuessLimit guesses_;
  std::map<uint64_t, std::unique_ptr<Conn>> conns_;
  std::map<crypto::Key, uint64_t> by_key_;  // the newest stream of each peer
  std::optional<int64_t> published_;
  std::optional<int64_t> cached_revision_;
  std::vector<control::PeerRecord> cached_peers_;
  bool changed_ = false;
  std::array<uint64_t, 9> ends_{};
};

}  // namespace tern::cli

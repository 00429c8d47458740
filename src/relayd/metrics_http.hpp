// The metrics endpoint of `tern relay`: plain HTTP/1.x on TCP, GET /metrics
// answers the core's Prometheus text, one request per connection. Bounded: at
// most kMaxConnections at once (more wait in the kernel's backlog), a head of at
// most kMaxHttpHead bytes, and kConnectionTimeout to send it; nonblocking, driven
// by the relay's event loop.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "base/ip.hpp"
#include "base/result.hpp"
#include "base/time.hpp"
#include "io/fd.hpp"
#include "io/poller.hpp"

namespace tern::relayd {

class MetricsServer {
 public:
  static constexpr size_t kMaxConnections = 16;
  static constexpr Duration kConnectionTimeout = std::chrono::seconds(5);

  // Listens on `at`; connections get poller tokens token_base + 1 ... + kMaxConnections,
  // the listener token_base.
  [[nodiscard]] static Result<MetricsServer> listen(const Endpoint& at, io::Poller& poller,
                                                    uint64_t token_base);
  MetricsServer(MetricsServer&&) noexcept = default;
  MetricsServer& operator=(MetricsServer&&) noexcept = default;

  bool owns(uint64_t token) const {
    return token >= token_base_ && token <= token_base_ + kMaxConnections;
  }
  // A poller event for one of owns()'s tokens. `body` renders the metrics text.
  void ready(uint64_t token, Instant now, const std::function<std::string()>& body);
  // Closes connections past their deadline; the next deadline, if any.
  void expire(Instant now);
  std::optional<Instant> next_deadline() const;
  uint16_t port() const { return port_; }

 private:
  struct Connection {
    io::UniqueFd fd;
    Instant deadline{};
    std::string in;   // the head received so far
    std::string out;  // the response, sent from `sent`
    size_t sent = 0;
  };

  MetricsServer(io::UniqueFd fd, io::Poller& poller, uint64_t token_base, uint16_t port)
      : listener_(std::move(fd)), poller_(&poller), token_base_(token_base), port_(port) {}
  void accept_all(Instant now);
  void read(size_t slot, const std::function<std::string()>& body);
  void write(size_t slot);
  void close(size_t slot);

  io::UniqueFd listener_;
  io::Poller* poller_;
  uint64_t token_base_;
  uint16_t port_;
  std::array<Connection, kMaxConnections> conns_;
  size_t open_ = 0;
};

// The whole HTTP response for a request head (exposed for tests): 200 with the
// metrics for GET or HEAD /metrics, 404, 405, 400 or 431 otherwise.
std::string http_response(std::string_view head, bool complete,
                          const std::function<std::string()>& body);

}  // namespace tern::relayd

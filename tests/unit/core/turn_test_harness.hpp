// A TurnClient and a FakeTurnServer joined by a lossless, instant link, driven
// by a fake clock: tests read as timelines (advance, deliver, check what went out).
#pragma once

#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <variant>
#include <vector>

#include "core/turn_client.hpp"
#include "turn_fake_server.hpp"

namespace tern::test {

inline constexpr Instant kT0 = instant_from_ns(1'000'000'000'000);
inline constexpr int64_t kUnixAtT0 = 1'750'000'000;

inline core::TurnConfig default_config() {
  core::TurnConfig c;
  c.server_host = "turn.example.net";
  c.server_port = 3478;
  c.credentials = {"alice", "correct horse"};
  return c;
}

class TurnHarness {
 public:
  explicit TurnHarness(core::TurnConfig config = default_config(), bool start = true)
      : config_(std::move(config)) {
    server.start = kT0;
    server.unix_at_start = kUnixAtT0;
    if (start) this->start();
  }

  void start() {
    client.emplace(config_, now);
    client->set_wall_clock(WallTime{kUnixAtT0 * 1'000'000'000}, kT0);
    pump();
  }

  // Delivers everything the client has to send, and the answers, until quiet.
  void pump() {
    for (int i = 0; i < 1000; ++i) {
      auto m = client->poll_transmit();
      if (!m) break;
      sent.push_back(to_vector(*m));
      if (link_down) continue;
      for (auto& answer : server.receive(*m, now)) {
        results.push_back(client->handle_input(answer, now));
      }
    }
    while (auto e = client->poll_event())
      events.push_back(std::move(*e));
  }

  // Moves the clock to now + d, firing every client timer on the way.
  void advance(Duration d) {
    const Instant target = now + d;
    for (int i = 0; i < 100000; ++i) {
      auto t = client->poll_timeout();
      if (!t || *t > target) break;
      if (*t > now) now = *t;
      client->handle_timeout(now);
      pump();
    }
    now = target;
    client->handle_timeout(now);
    pump();
  }

  // Sends `payload` to `peer` through the client; what goes out reaches the server.
  core::TurnSend send(const Endpoint& peer, std::string_view payload) {
    std::vector<uint8_t> buf(core::kTurnSendHeadroom + payload.size() + core::kTurnSendTailroom);
    std::memcpy(buf.data() + core::kTurnSendHeadroom, payload.data(), payload.size());
    auto r = client->send_to(peer, buf, payload.size(), now);
    pump();
    if (r.ok()) {
      last_sent = to_vector(r.message);
      r.message = last_sent;
      if (!link_down) (void)server.receive(last_sent, now);
    }
    return r;
  }

  // The server relays `payload` from `peer`; returns what the client made of it.
  core::TurnReceive deliver(const std::vector<uint8_t>& message) {
    inbound = message;
    auto r = client->handle_input(inbound, now);
    pump();
    return r;
  }

  template <class E>
  std::vector<E> events_of() const {
    std::vector<E> out;
    for (const auto& e : events)
      if (auto* x = std::get_if<E>(&e)) out.push_back(*x);
    return out;
  }
  template <class E>
  const E* last_event() const {
    for (auto it = events.rbegin(); it != events.rend(); ++it)
      if (auto* x = std::get_if<E>(&*it)) return x;
    return nullptr;
  }
  std::string failure_text() const {
    auto* f = last_event<core::TurnFailed>();
    return f ? f->error.message : std::string("(no failure)");
  }

  Instant now = kT0;
  FakeTurnServer server;
  std::optional<core::TurnClient> client;
  bool link_down = false;
  std::vector<std::vector<uint8_t>> sent;
  std::vector<core::TurnReceive> results;
  std::vector<core::TurnEvent> events;
  std::vector<uint8_t> last_sent;
  std::vector<uint8_t> inbound;

 private:
  core::TurnConfig config_;
};

inline bool contains(const std::string& text, std::string_view part) {
  return text.find(part) != std::string::npos;
}

}  // namespace tern::test

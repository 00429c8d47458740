// Two tern TURN clients exchanging data through one TURN server (coturn or `tern relay`),
// checked byte for byte (issue 3 §4). Client A and client B each allocate over UDP, TCP or
// TLS; each gets a permission (and a channel) for the other's relayed address; then each
// sends COUNT messages of SIZE bytes to the other's relayed address, the first ones as Send
// indications while the channel is being bound, the rest as ChannelData. Every payload is a
// pseudo-random function of (direction, sequence), so the receiver checks every byte.
//
//   turn_pair --server IP:PORT --transport udp|tcp|tls (--user U --password P | --secret S)
//             [--count N] [--size BYTES] [--rate PER_S] [--name TLS_NAME] [--ca-file PEM]
//             [--seconds LIMIT]
//
// Prints one line per direction and exits 0 when all 2*COUNT messages arrived intact, each
// exactly once; 1 otherwise (with the cause); 2 for usage errors.
#include <algorithm>
#include <array>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/turn_client.hpp"
#include "doctor/relay_stream.hpp"
#include "io/clock.hpp"
#include "io/poller.hpp"
#include "io/udp_socket.hpp"
#include "turn_tool_config.hpp"

namespace {

using namespace tern;

struct Args {
  Endpoint server;
  core::StunTransport transport = core::StunTransport::kUdp;
  tools::TurnAuth auth;
  std::string name, ca_file;
  uint64_t count = 500;
  size_t size = 1000;
  unsigned rate = 500;
  int seconds = 30;
};

// The payload of message `seq` from `from` (0: A, 1: B): a 12-byte header, then bytes of
// a xorshift stream seeded by both.
void fill(uint8_t from, uint64_t seq, std::span<uint8_t> out) {
  out[0] = 'T';
  out[1] = 'P';
  out[2] = from;
  out[3] = 0;
  std::memcpy(out.data() + 4, &seq, 8);
  uint64_t x = (seq + 1) * 0x9E3779B97F4A7C15ull ^ (from + 1ull) * 0xD1B54A32D192ED03ull;
  for (size_t i = 12; i < out.size(); ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    out[i] = static_cast<uint8_t>(x);
  }
}

struct Client {
  const char* label;
  uint8_t index;
  std::optional<core::TurnClient> turn;
  std::optional<io::UdpSocket> udp;
  std::optional<doctor::RelayStream> stream;
  bool watching_write = false;
  std::optional<Endpoint> relayed;
  bool permitted = false;
  bool channel = false;
  std::string failure;
  uint64_t sent = 0, sent_via_channel = 0;
  std::vector<uint8_t> seen;  // per sequence from the other client
  uint64_t intact = 0, corrupt = 0, duplicate = 0, foreign = 0;
  std::vector<uint8_t> expect;

  int fd() const { return udp ? udp->fd() : stream->fd(); }
};

int usage(const char* msg) {
  std::fprintf(stderr, "turn_pair: %s\n", msg);
  return 2;
}

bool send_to_server(Client& c, const Args& a, Bytes message) {
  if (c.stream) return c.stream->send(message) == 0;
  io::SendBatch batch(1);
  if (!batch.add(a.server, message)) return false;
  auto n = c.udp->send(batch);
  return n && *n == 1 && batch.error(0) == 0;
}

void flush(Client& c, const Args& a) {
  while (auto m = c.turn->poll_transmit())
    (void)send_to_server(c, a, *m);
}

void on_message(Client& c, const Args& a, Bytes message, Instant now, const Endpoint& other) {
  auto got = c.turn->handle_input(message, now);
  if (got.kind != core::TurnReceive::Kind::kData) return;
  if (got.peer != other || got.payload.size() != a.size || got.payload[0] != 'T') {
    ++c.foreign;
    return;
  }
  uint64_t seq = 0;
  std::memcpy(&seq, got.payload.data() + 4, 8);
  if (seq >= a.count) {
    ++c.foreign;
    return;
  }
  fill(static_cast<uint8_t>(1 - c.index), seq, c.expect);
  if (!std::equal(c.expect.begin(), c.expect.end(), got.payload.begin())) {
    ++c.corrupt;
  } else if (c.seen[seq]++ != 0) {
    ++c.duplicate;
  } else {
    ++c.intact;
  }
}

void events(Client& c) {
  while (auto e = c.turn->poll_event()) {
    if (auto* al = std::get_if<core::TurnAllocated>(&*e)) c.relayed = al->relayed;
    if (std::holds_alternative<core::TurnPermissionCreated>(*e)) c.permitted = true;
    if (std::holds_alternative<core::TurnChannelBound>(*e)) c.channel = true;
    if (auto* f = std::get_if<core::TurnFailed>(&*e)) c.failure = f->error.message;
    if (auto* p = std::get_if<core::TurnPeerFailed>(&*e)) c.failure = p->error.message;
    if (auto* l = std::get_if<core::TurnAllocationLost>(&*e)) c.failure = l->error.message;
  }
}

std::optional<int> parse(int argc, char** argv, Args& a) {
  for (int i = 1; i < argc; ++i) {
    std::string k = argv[i];
    if (i + 1 >= argc) return usage(("missing the value of " + k).c_str());
    std::string v = argv[++i];
    if (k == "--server") {
      auto e = Endpoint::parse(v);
      if (!e) return usage("--server wants IP:PORT");
      a.server = *e;
    } else if (k == "--transport") {
      if (v == "udp")
        a.transport = core::StunTransport::kUdp;
      else if (v == "tcp")
        a.transport = core::StunTransport::kTcp;
      else if (v == "tls")
        a.transport = core::StunTransport::kTls;
      else
        return usage("--transport is udp, tcp or tls");
    } else if (a.auth.take(k, v)) {
    } else if (k == "--name") {
      a.name = v;
    } else if (k == "--ca-file") {
      a.ca_file = v;
    } else if (k == "--count") {
      a.count = std::strtoull(v.c_str(), nullptr, 10);
    } else if (k == "--size") {
      a.size = std::strtoull(v.c_str(), nullptr, 10);
    } else if (k == "--rate") {
      a.rate = static_cast<unsigned>(std::strtoul(v.c_str(), nullptr, 10));
    } else if (k == "--seconds") {
      a.seconds = std::atoi(v.c_str());
    } else {
      return usage(("unknown option " + k).c_str());
    }
  }
  if (a.server.port == 0) return usage("--server is required");
  if (a.size < 12 || a.size > 60000) return usage("--size is 12..60000");
  if (a.count == 0 || a.rate == 0 || a.seconds <= 0) return usage("--count, --rate, --seconds > 0");
  if (!a.auth.valid()) {
    return usage("give --user and --password, or --secret");
  }
  return std::nullopt;
}

std::optional<std::string> open_client(Client& c, const Args& a, io::Poller& poller,
                                       uint64_t token) {
  if (a.transport == core::StunTransport::kUdp) {
    auto s = io::UdpSocket::bind(
        Endpoint{a.server.address.is_v4() ? IpAddress::v4(0u) : IpAddress::v6({}), 0});
    if (!s) return s.error().message;
    c.udp.emplace(std::move(*s));
  } else {
    doctor::RelayStreamSetup setup;
    setup.tls = a.transport == core::StunTransport::kTls;
    setup.server_name = a.name.empty() ? a.server.address.to_string() : a.name;
    setup.ca_file = a.ca_file;
    auto s = doctor::RelayStream::connect(a.server, setup);
    if (!s) return s.error().message;
    c.stream.emplace(std::move(*s));
    if (setup.tls) {
      const auto& cert = c.stream->facts().certificate;
      if (!cert || !cert->chain_trusted || !cert->name_matches) {
        return "the server's certificate is not trusted for " + setup.server_name;
      }
    }
  }
  if (auto s = poller.add(c.fd(), token, true, false); !s) return s.error().message;
  core::TurnConfig config = tools::turn_tool_config(a.server, a.auth, c.label, "tern turn_pair");
  config.transport = a.transport;
  c.turn.emplace(config, io::monotonic_now());
  c.turn->set_wall_clock(io::wall_now(), io::monotonic_now());
  c.seen.assign(a.count, 0);
  c.expect.resize(a.size);
  return std::nullopt;
}

// Reads what is there for `c`, feeding its TURN client.
std::optional<std::string> service(Client& c, const Args& a, io::RecvBatch& batch,
                                   const Endpoint& other, bool readable, bool writable) {
  if (c.stream) {
    if (writable) {
      if (auto s = c.stream->flush(); !s) return s.error().message;
    }
    if (readable) {
      auto s = c.stream->receive(
          [&](Bytes frame) { on_message(c, a, frame, io::monotonic_now(), other); });
      if (!s) return s.error().message;
    }
    return std::nullopt;
  }
  for (int round = 0; round < 64; ++round) {
    auto n = c.udp->recv(batch);
    if (!n) return n.error().message;
    if (*n == 0) break;
    const Instant now = io::monotonic_now();
    for (size_t i = 0; i < *n; ++i) {
      if (batch.from(i) == a.server && !batch.truncated(i)) {
        on_message(c, a, batch.data(i), now, other);
      }
    }
  }
  return std::nullopt;
}

}  // namespace

int main(int argc, char** argv) {
  Args a;
  if (auto rc = parse(argc, argv, a)) return *rc;
  auto poller = io::Poller::create();
  if (!poller) return usage(poller.error().message.c_str());
  Client clients[2] = {
      {"pair-a", 0, {}, {}, {}, false, {}, false, false, {}, 0, 0, {}, 0, 0, 0, 0, {}},
      {"pair-b", 1, {}, {}, {}, false, {}, false, false, {}, 0, 0, {}, 0, 0, 0, 0, {}}};
  for (uint64_t i = 0; i < 2; ++i) {
    if (auto e = open_client(clients[i], a, *poller, i)) {
      std::fprintf(stderr, "turn_pair: client %s: %s\n", clients[i].label, e->c_str());
      return 1;
    }
  }
  io::RecvBatch batch(32, 65536);
  const Instant start = io::monotonic_now();
  const Instant limit = start + std::chrono::seconds(a.seconds);
  const Duration interval = std::chrono::nanoseconds(1'000'000'000 / a.rate);
  std::vector<uint8_t> buffer(core::kTurnSendHeadroom + a.size + core::kTurnSendTailroom);
  Instant next_send = start;
  bool peers_added = false;
  std::optional<Instant> sent_all;
  for (;;) {
    Instant now = io::monotonic_now();
    for (auto& c : clients) {
      if (auto t = c.turn->poll_timeout(); t && *t <= now) c.turn->handle_timeout(now);
      events(c);
      if (!c.failure.empty()) {
        std::fprintf(stderr, "turn_pair: client %s: %s\n", c.label, c.failure.c_str());
        return 1;
      }
    }
    if (!peers_added && clients[0].relayed && clients[1].relayed) {
      std::printf("relayed addresses: A %s, B %s\n", clients[0].relayed->to_string().c_str(),
                  clients[1].relayed->to_string().c_str());
      clients[0].turn->add_peer(*clients[1].relayed, now);
      clients[1].turn->add_peer(*clients[0].relayed, now);
      peers_added = true;
    }
    // Data once both permissions exist: the other side's data would be dropped before.
    const bool ready = clients[0].permitted && clients[1].permitted;
    while (ready && now >= next_send && (clients[0].sent < a.count || clients[1].sent < a.count)) {
      for (auto& c : clients) {
        if (c.sent >= a.count) continue;
        const Endpoint to = *clients[1 - c.index].relayed;
        fill(c.index, c.sent, std::span(buffer).subspan(core::kTurnSendHeadroom, a.size));
        if (c.turn->bound_channel(to, now)) ++c.sent_via_channel;
        auto s = c.turn->send_to(to, buffer, a.size, now);
        if (s.ok()) (void)send_to_server(c, a, s.message);
        ++c.sent;
      }
      next_send += interval;
    }
    if (!sent_all && clients[0].sent == a.count && clients[1].sent == a.count) sent_all = now;
    for (auto& c : clients)
      flush(c, a);
    const bool all_in = clients[0].intact == a.count && clients[1].intact == a.count;
    // Done when all arrived, or 2 s after the last send (the stragglers), or at the limit.
    if (all_in || (sent_all && now > *sent_all + std::chrono::seconds(2)) || now >= limit) break;
    for (auto& c : clients) {
      const bool want = c.stream && c.stream->wants_write();
      if (want != c.watching_write &&
          poller->modify(c.fd(), static_cast<uint64_t>(c.index), true, want)) {
        c.watching_write = want;
      }
    }
    Instant wake = limit;
    if (ready && (clients[0].sent < a.count || clients[1].sent < a.count)) wake = next_send;
    for (auto& c : clients) {
      if (auto t = c.turn->poll_timeout()) wake = std::min(wake, *t);
    }
    now = io::monotonic_now();
    std::array<io::Ready, 4> r{};
    auto n = poller->wait(wake > now ? wake - now : Duration::zero(), r);
    if (!n) return usage(n.error().message.c_str());
    for (size_t i = 0; i < *n; ++i) {
      Client& c = clients[r[i].token];
      const Endpoint other = *clients[1 - c.index].relayed;
      if (auto e = service(c, a, batch, clients[1 - c.index].relayed ? other : Endpoint{},
                           r[i].readable || r[i].error, r[i].writable)) {
        std::fprintf(stderr, "turn_pair: client %s: %s\n", c.label, e->c_str());
        return 1;
      }
    }
  }
  bool ok = true;
  for (auto& c : clients) {
    const Client& from = clients[1 - c.index];
    std::printf(
        "%s -> %s: sent %llu (%llu as ChannelData), received intact %llu, corrupt %llu, "
        "duplicate %llu, missing %llu, foreign %llu\n",
        from.label, c.label, static_cast<unsigned long long>(from.sent),
        static_cast<unsigned long long>(from.sent_via_channel),
        static_cast<unsigned long long>(c.intact), static_cast<unsigned long long>(c.corrupt),
        static_cast<unsigned long long>(c.duplicate),
        static_cast<unsigned long long>(a.count - c.intact),
        static_cast<unsigned long long>(c.foreign));
    // Which ones are missing, as ranges: the first lost ones say the most.
    std::string missing;
    for (uint64_t i = 0, shown = 0; i < a.count && shown < 8; ++i) {
      if (c.seen[i] != 0 || (i > 0 && c.seen[i - 1] == 0)) continue;
      uint64_t j = i;
      while (j + 1 < a.count && c.seen[j + 1] == 0)
        ++j;
      missing +=
          (missing.empty() ? "" : " ") + std::to_string(i) + (j > i ? "-" + std::to_string(j) : "");
      ++shown;
    }
    if (!missing.empty()) std::printf("  missing sequences: %s\n", missing.c_str());
    ok = ok && c.intact == a.count && c.corrupt == 0 && c.duplicate == 0;
  }
  std::printf("%s\n", ok ? "PASS: every byte arrived" : "FAIL");
  for (auto& c : clients)
    c.turn->close(io::monotonic_now());
  for (auto& c : clients)
    flush(c, a);
  return ok ? 0 : 1;
}

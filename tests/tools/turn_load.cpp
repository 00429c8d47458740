// A TURN load generator for bench/relay.sh (issue 3 §6): N allocations over UDP on one server
// (tern relay or coturn), each with a permission and a channel to an echo peer that this
// program runs itself, then ChannelData at a fixed rate per session for a bounded time.
// Every payload carries (session, sequence, send time), so the generator counts what reached
// the peer (client -> relay -> peer) and what came back (peer -> relay -> client) separately,
// and the round trip of every echoed packet.
//
//   client sockets (one per session) --ChannelData--> relay --UDP--> echo socket (--peer)
//                    <--ChannelData-- relay <--UDP-- (the same payload, sent back)
//
//   turn_load --server IP:PORT (--user U --password P | --secret S) --peer IP:PORT
//             [--peer-netns NAME] [--sessions N] [--rate PPS] [--size BYTES] [--seconds S]
//             [--burst K] [--setup-rate PER_S] [--setup-seconds S] [--drain-ms MS]
//             [--cpu-pid PID] [--port-base PORT]
//
// --peer is where the echo socket listens and what the sessions name as their peer;
// --peer-netns opens it in that network namespace (root), so the peer can sit behind the
// relay while the clients stay in front of it. Allocation setup is paced (--setup-rate) so that
// it is not what is measured. Sessions send --rate packets/s each, in bursts of --burst packets
// (one sendmmsg), with their start times spread over one interval. One thread drives the
// clients (epoll, recvmmsg/sendmmsg), one the echo socket. At the end every allocation is
// deleted (Refresh 0) and one JSON document goes to stdout. With --cpu-pid it also reports that
// process's CPU use (the server's: user + system, all threads) while the packets flowed, and
// its own. --port-base binds session i's socket to PORT + i: a server keeps an allocation whose
// deletion was lost for its lifetime, and an ephemeral port that comes back to a later run on
// that 5-tuple gets 437 (RFC 8656 §7.2), so successive runs use ranges of their own. Exit 0 when
// the run happened (loss or not), 1 when it could not (setup failed for every session), 2 for usage
// errors.
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "core/turn_client.hpp"
#include "io/clock.hpp"
#include "io/poller.hpp"
#include "io/udp_socket.hpp"
#include "turn_tool_config.hpp"

namespace {

using namespace tern;
using std::chrono::milliseconds;
using std::chrono::nanoseconds;

constexpr uint32_t kMagic = 0x544c4431;  // "TLD1"
constexpr size_t kHeader = 24;           // magic, session, sequence, send time (ns)
constexpr size_t kMaxBurst = 64;
// RTT histogram: 10 us buckets up to 2 s, then one overflow bucket.
constexpr int64_t kBucketNs = 10'000;
constexpr size_t kBuckets = 200'000;

struct Args {
  Endpoint server, peer;
  tools::TurnAuth auth;
  std::string peer_netns;
  size_t sessions = 100;
  unsigned rate = 100;
  size_t size = 1000;
  double seconds = 5;
  unsigned burst = 1;
  unsigned setup_rate = 200;
  double setup_seconds = 30;
  unsigned drain_ms = 1000;
  int cpu_pid = 0;
  unsigned port_base = 0;
};

int usage(const char* msg) {
  std::fprintf(stderr, "turn_load: %s\n", msg);
  return 2;
}

std::optional<int> parse(int argc, char** argv, Args& a) {
  for (int i = 1; i < argc; ++i) {
    const std::string k = argv[i];
    if (i + 1 >= argc) return usage(("missing the value of " + k).c_str());
    const std::string v = argv[++i];
    const auto num = [&v] { return std::strtod(v.c_str(), nullptr); };
    if (k == "--server" || k == "--peer") {
      auto e = Endpoint::parse(v);
      if (!e) return usage((k + " wants IP:PORT").c_str());
      (k == "--server" ? a.server : a.peer) = *e;
    } else if (a.auth.take(k, v)) {
    } else if (k == "--peer-netns") {
      a.peer_netns = v;
    } else if (k == "--sessions") {
      a.sessions = static_cast<size_t>(num());
    } else if (k == "--rate") {
      a.rate = static_cast<unsigned>(num());
    } else if (k == "--size") {
      a.size = static_cast<size_t>(num());
    } else if (k == "--seconds") {
      a.seconds = num();
    } else if (k == "--burst") {
      a.burst = static_cast<unsigned>(num());
    } else if (k == "--setup-rate") {
      a.setup_rate = static_cast<unsigned>(num());
    } else if (k == "--setup-seconds") {
      a.setup_seconds = num();
    } else if (k == "--port-base") {
      a.port_base = static_cast<unsigned>(num());
    } else if (k == "--cpu-pid") {
      a.cpu_pid = static_cast<int>(num());
    } else if (k == "--drain-ms") {
      a.drain_ms = static_cast<unsigned>(num());
    } else {
      return usage(("unknown option " + k).c_str());
    }
  }
  if (a.server.port == 0 || a.peer.port == 0) return usage("--server and --peer are required");
  if (!a.auth.valid()) {
    return usage("give --user and --password, or --secret");
  }
  if (a.sessions < 1 || a.sessions > 20000) return usage("--sessions is 1..20000");
  if (a.rate < 1 || a.rate > 100000) return usage("--rate is 1..100000 packets/s per session");
  if (a.size < kHeader || a.size > 8000) return usage("--size is 24..8000");
  if (!(a.seconds > 0 && a.seconds <= 600)) return usage("--seconds is (0, 600]");
  if (a.burst < 1 || a.burst > kMaxBurst) return usage("--burst is 1..64");
  if (a.setup_rate < 1 || !(a.setup_seconds > 0 && a.setup_seconds <= 600)) {
    return usage("--setup-rate >= 1, --setup-seconds (0, 600]");
  }
  if (a.drain_ms > 10000) return usage("--drain-ms is 0..10000");
  if (a.port_base != 0 && (a.port_base < 1024 || a.port_base + a.sessions > 65535)) {
    return usage("--port-base + --sessions must stay within 1024..65535");
  }
  return std::nullopt;
}

double to_seconds(Duration d) {
  return std::chrono::duration<double>(d).count();
}

void put64(uint8_t* p, uint64_t v) {
  std::memcpy(p, &v, 8);
}
uint64_t get64(const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}
void put32(uint8_t* p, uint32_t v) {
  std::memcpy(p, &v, 4);
}
uint32_t get32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

// CPU time of a process so far (utime + stime of all its threads), in seconds.
std::optional<double> process_cpu(int pid) {
  if (pid <= 0) return std::nullopt;
  FILE* f = std::fopen(("/proc/" + std::to_string(pid) + "/stat").c_str(), "r");
  if (!f) return std::nullopt;
  char buf[1024];
  const size_t n = std::fread(buf, 1, sizeof buf - 1, f);
  std::fclose(f);
  buf[n] = 0;
  const char* p = std::strrchr(buf, ')');  // the command name may hold spaces
  if (!p) return std::nullopt;
  unsigned long long v[13] = {};
  // Fields 3.. after the name: state, then 10 numbers, then utime (14) and stime (15).
  if (std::sscanf(p + 2, "%*c %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0],
                  &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7], &v[8], &v[9], &v[10],
                  &v[11]) != 12) {
    return std::nullopt;
  }
  return static_cast<double>(v[10] + v[11]) / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

double own_cpu() {
  rusage u{};
  ::getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

// Opens the echo socket, in another network namespace when asked (the socket stays there).
Result<io::UdpSocket> open_echo(const Args& a) {
  if (a.peer_netns.empty()) return io::UdpSocket::bind(a.peer);
  const int home = ::open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
  const int target = ::open(("/run/netns/" + a.peer_netns).c_str(), O_RDONLY | O_CLOEXEC);
  if (home < 0 || target < 0 || ::setns(target, CLONE_NEWNET) != 0) {
    if (home >= 0) ::close(home);
    if (target >= 0) ::close(target);
    return fail("cannot enter network namespace " + a.peer_netns +
                " (needs root): " + std::strerror(errno));
  }
  auto s = io::UdpSocket::bind(a.peer);
  const bool back = ::setns(home, CLONE_NEWNET) == 0;
  ::close(home);
  ::close(target);
  if (!back) return fail("cannot return to the original network namespace");
  return s;
}

// The peer: echoes every datagram to its sender and counts what arrived per session.
struct Echo {
  io::UdpSocket sock;
  size_t sessions;
  std::atomic<bool> stop{false};
  std::vector<uint64_t> received;  // per session; read after the thread ended
  uint64_t echoed = 0, foreign = 0, send_failures = 0;

  Echo(io::UdpSocket s, size_t n) : sock(std::move(s)), sessions(n), received(n, 0) {}

  void run() {
    io::RecvBatch in(64, 9000);
    io::SendBatch out(64);
    pollfd p{sock.fd(), POLLIN, 0};
    while (!stop.load(std::memory_order_relaxed)) {
      if (::poll(&p, 1, 20) <= 0) continue;
      for (int round = 0; round < 16; ++round) {
        auto n = sock.recv(in);
        if (!n || *n == 0) break;
        out.clear();
        for (size_t i = 0; i < *n; ++i) {
          Bytes d = in.data(i);
          if (d.size() < kHeader || get32(d.data()) != kMagic || get32(d.data() + 4) >= sessions) {
            ++foreign;
            continue;
          }
          ++received[get32(d.data() + 4)];
          (void)out.add(in.from(i), d);
        }
        size_t done = 0;
        while (done < out.size()) {
          auto s = sock.send(out, done);
          if (!s || *s == 0) break;
          done += *s;
        }
        for (size_t i = 0; i < done; ++i)
          (out.error(i) == 0 ? echoed : send_failures) += 1;
        send_failures += out.size() - done;
        if (*n < in.capacity()) break;
      }
    }
  }
};

struct Session {
  io::UdpSocket sock;
  std::optional<core::TurnClient> turn;
  bool ready = false, failed = false, closed = false;
  std::string failure;
  uint64_t sent = 0, received = 0, send_failures = 0;
  int64_t offset_ns = 0;  // its place in the interval, so sessions do not send at once
};

struct Totals {
  uint64_t received = 0, corrupt = 0;
  std::vector<uint32_t> rtt = std::vector<uint32_t>(kBuckets + 1, 0);
  int64_t rtt_max_ns = 0;
  double percentile_us(double q) const {
    uint64_t total = 0;
    for (auto c : rtt)
      total += c;
    if (total == 0) return -1;
    const uint64_t want = std::max<uint64_t>(1, static_cast<uint64_t>(q * total + 0.5));
    uint64_t seen = 0;
    for (size_t i = 0; i < rtt.size(); ++i) {
      seen += rtt[i];
      if (seen >= want) return static_cast<double>((i + 1) * kBucketNs) / 1000.0;
    }
    return -1;
  }
};

void flush(Session& s, const Endpoint& server) {
  while (auto m = s.turn->poll_transmit()) {
    io::SendBatch b(1);
    if (b.add(server, *m)) (void)s.sock.send(b);
  }
}

void events(Session& s, const Endpoint& peer, Instant now) {
  while (auto e = s.turn->poll_event()) {
    if (std::holds_alternative<core::TurnAllocated>(*e)) s.turn->add_peer(peer, now);
    if (std::holds_alternative<core::TurnChannelBound>(*e)) s.ready = true;
    if (std::holds_alternative<core::TurnClosed>(*e)) s.closed = true;
    const core::TurnError* err = nullptr;
    if (auto* f = std::get_if<core::TurnFailed>(&*e)) err = &f->error;
    if (auto* f = std::get_if<core::TurnPeerFailed>(&*e)) err = &f->error;
    if (auto* f = std::get_if<core::TurnAllocationLost>(&*e)) err = &f->error;
    if (err && s.failure.empty()) s.failure = err->message;
    if (std::holds_alternative<core::TurnFailed>(*e)) s.failed = true;
  }
}

// Reads everything waiting on a session's socket.
void drain(Session& s, uint32_t index, const Args& a, io::RecvBatch& batch, Totals& t) {
  for (int round = 0; round < 8; ++round) {
    auto n = s.sock.recv(batch);
    if (!n || *n == 0) return;
    const Instant now = io::monotonic_now();
    for (size_t i = 0; i < *n; ++i) {
      if (batch.truncated(i) || batch.from(i) != a.server) continue;
      auto got = s.turn->handle_input(batch.data(i), now);
      if (got.kind != core::TurnReceive::Kind::kData) continue;
      const uint8_t* p = got.payload.data();
      if (got.payload.size() != a.size || get32(p) != kMagic || get32(p + 4) != index) {
        ++t.corrupt;
        continue;
      }
      ++s.received;
      ++t.received;
      const int64_t rtt = to_ns(now) - static_cast<int64_t>(get64(p + 16));
      t.rtt_max_ns = std::max(t.rtt_max_ns, rtt);
      t.rtt[std::min<size_t>(static_cast<size_t>(std::max<int64_t>(rtt, 0) / kBucketNs),
                             kBuckets)]++;
    }
    if (*n < batch.capacity()) return;
  }
}

// Sends what session `index` owes by now: packets whose time has come, `burst` at a time.
void send_due(Session& s, uint32_t index, const Args& a, Instant start, Instant now, uint64_t total,
              std::vector<std::vector<uint8_t>>& buffers, io::SendBatch& batch) {
  const int64_t elapsed = to_ns(now) - to_ns(start) - s.offset_ns;
  if (elapsed < 0) return;
  const int64_t period = 1'000'000'000LL * a.burst / a.rate;
  uint64_t due = (static_cast<uint64_t>(elapsed / period) + 1) * a.burst;
  due = std::min(due, total);
  while (s.sent < due) {
    batch.clear();
    const size_t k = std::min<uint64_t>(due - s.sent, kMaxBurst);
    for (size_t j = 0; j < k; ++j) {
      uint8_t* p = buffers[j].data() + core::kTurnSendHeadroom;
      put32(p, kMagic);
      put32(p + 4, index);
      put64(p + 8, s.sent + j);
      put64(p + 16, static_cast<uint64_t>(to_ns(io::monotonic_now())));
      auto m = s.turn->send_to(a.peer, buffers[j], a.size, now);
      if (m.ok()) (void)batch.add(a.server, m.message);
    }
    size_t done = 0;
    if (!batch.empty()) {
      auto r = s.sock.send(batch);
      done = r ? *r : 0;
      for (size_t j = 0; j < done; ++j)
        s.send_failures += batch.error(j) != 0;
    }
    s.send_failures += k - done;
    s.sent += k;
  }
}

}  // namespace

int main(int argc, char** argv) {
  Args a;
  if (auto rc = parse(argc, argv, a)) return *rc;
  auto echo_sock = open_echo(a);
  if (!echo_sock)
    return usage(
        ("echo socket on " + a.peer.to_string() + ": " + echo_sock.error().message).c_str());
  Echo echo(std::move(*echo_sock), a.sessions);
  auto poller = io::Poller::create();
  if (!poller) return usage(poller.error().message.c_str());

  std::vector<Session> sessions;
  sessions.reserve(a.sessions);
  Endpoint any{a.server.address.is_v4() ? IpAddress::v4(0u) : IpAddress::v6({}), 0};
  const int64_t interval_ns = 1'000'000'000LL * a.burst / a.rate;
  for (size_t i = 0; i < a.sessions; ++i) {
    if (a.port_base) any.port = static_cast<uint16_t>(a.port_base + i);
    auto s = io::UdpSocket::bind(any);
    if (!s) return usage(("client socket: " + s.error().message + " (ulimit -n?)").c_str());
    if (auto st = poller->add(s->fd(), i, true, false); !st)
      return usage(st.error().message.c_str());
    sessions.push_back(Session{std::move(*s),
                               {},
                               false,
                               false,
                               false,
                               {},
                               0,
                               0,
                               0,
                               static_cast<int64_t>(interval_ns * i / a.sessions)});
  }
  const core::TurnConfig config =
      tools::turn_tool_config(a.server, a.auth, "load", "tern turn_load");

  io::RecvBatch batch(32, 9000);
  std::vector<io::Ready> ready(256);
  Totals totals;
  // Setup: sessions start at setup_rate per second; wait until all are ready or failed.
  const Instant setup_start = io::monotonic_now();
  const Instant setup_limit =
      setup_start + nanoseconds(static_cast<int64_t>(a.setup_seconds * 1e9));
  size_t started = 0, n_ready = 0, n_failed = 0;
  while (n_ready + n_failed < a.sessions) {
    Instant now = io::monotonic_now();
    if (now >= setup_limit) break;
    while (started < a.sessions &&
           now >= setup_start + nanoseconds(1'000'000'000LL * started / a.setup_rate)) {
      Session& s = sessions[started++];
      s.turn.emplace(config, now);
      s.turn->set_wall_clock(io::wall_now(), now);
      flush(s, a.server);
    }
    auto n = poller->wait(milliseconds(2), ready);
    now = io::monotonic_now();
    for (size_t i = 0; n && i < *n; ++i) {
      Session& s = sessions[ready[i].token];
      if (s.turn) drain(s, static_cast<uint32_t>(ready[i].token), a, batch, totals);
    }
    n_ready = n_failed = 0;
    for (auto& s : sessions) {
      if (!s.turn) continue;
      if (auto t = s.turn->poll_timeout(); t && *t <= now) s.turn->handle_timeout(now);
      events(s, a.peer, now);
      flush(s, a.server);
      n_ready += s.ready;
      n_failed += s.failed;
    }
  }
  const double setup_s = to_seconds(io::monotonic_now() - setup_start);
  std::string first_failure;
  for (auto& s : sessions) {
    if (!s.failure.empty()) {
      first_failure = s.failure;
      break;
    }
  }

  std::thread echo_thread([&echo] { echo.run(); });
  // Data: every ready session sends rate * seconds packets.
  const uint64_t per_session = static_cast<uint64_t>(a.rate * a.seconds);
  std::vector<std::vector<uint8_t>> buffers(
      kMaxBurst, std::vector<uint8_t>(core::kTurnSendHeadroom + a.size + core::kTurnSendTailroom));
  io::SendBatch send_batch(kMaxBurst);
  const Instant start = io::monotonic_now();
  const Instant end = start + nanoseconds(static_cast<int64_t>(a.seconds * 1e9));
  const Instant stop = end + milliseconds(a.drain_ms);
  Instant next_timers = start;
  Instant last_send = start;
  const std::optional<double> server_cpu0 = process_cpu(a.cpu_pid);
  const double own_cpu0 = own_cpu();
  std::optional<double> server_cpu_s;
  double own_cpu_s = 0;
  bool sampled = false;
  for (;;) {
    Instant now = io::monotonic_now();
    if (now >= stop) break;
    if (now < end + milliseconds(200)) {  // a lagging generator catches up, briefly
      for (size_t i = 0; i < sessions.size(); ++i) {
        Session& s = sessions[i];
        if (s.ready && s.sent < per_session) {
          send_due(s, static_cast<uint32_t>(i), a, start, now, per_session, buffers, send_batch);
          last_send = now;
        }
      }
    }
    auto n = poller->wait(milliseconds(1), ready);
    for (size_t i = 0; n && i < *n; ++i) {
      Session& s = sessions[ready[i].token];
      if (s.turn) drain(s, static_cast<uint32_t>(ready[i].token), a, batch, totals);
    }
    now = io::monotonic_now();
    if (!sampled && now >= end) {
      const double window = to_seconds(now - start);
      if (auto c = process_cpu(a.cpu_pid); c && server_cpu0) {
        server_cpu_s = (*c - *server_cpu0) / window;
      }
      own_cpu_s = (own_cpu() - own_cpu0) / window;
      sampled = true;
    }
    if (now >= next_timers) {  // refreshes and retransmissions: rare during a run
      for (auto& s : sessions) {
        if (!s.turn) continue;
        if (auto t = s.turn->poll_timeout(); t && *t <= now) s.turn->handle_timeout(now);
        events(s, a.peer, now);
        flush(s, a.server);
      }
      next_timers = now + milliseconds(50);
    }
  }
  echo.stop = true;
  echo_thread.join();
  const double send_s = std::max(to_seconds(last_send - start), 1e-3);

  // Delete every allocation, so the next run (or the next server) starts clean.
  Instant now = io::monotonic_now();
  for (auto& s : sessions) {
    if (!s.turn) continue;
    s.turn->close(now);
    flush(s, a.server);
  }
  const Instant close_limit = now + milliseconds(3000);
  for (size_t open = 1; open > 0 && (now = io::monotonic_now()) < close_limit;) {
    auto n = poller->wait(milliseconds(10), ready);
    for (size_t i = 0; n && i < *n; ++i) {
      Session& s = sessions[ready[i].token];
      if (s.turn) drain(s, static_cast<uint32_t>(ready[i].token), a, batch, totals);
    }
    open = 0;
    for (auto& s : sessions) {
      if (!s.turn || s.closed || s.failed) continue;
      if (auto t = s.turn->poll_timeout(); t && *t <= now) s.turn->handle_timeout(now);
      events(s, a.peer, now);
      flush(s, a.server);
      open += !s.closed && !s.failed;
    }
  }

  uint64_t sent = 0, send_failures = 0, up = 0, sessions_lossy = 0;
  for (size_t i = 0; i < sessions.size(); ++i) {
    const Session& s = sessions[i];
    sent += s.sent;
    send_failures += s.send_failures;
    up += echo.received[i];
    sessions_lossy += s.ready && (echo.received[i] < s.sent || s.received < echo.received[i]);
  }
  const uint64_t loss_up = sent > up ? sent - up : 0;
  const uint64_t loss_down = echo.echoed > totals.received ? echo.echoed - totals.received : 0;
  const double window = a.seconds;
  const double relayed_pps = static_cast<double>(up + totals.received) / window;
  const double mbps = relayed_pps * static_cast<double>(a.size) * 8 / 1e6;
  char cpu_text[32] = "null";
  if (server_cpu_s) std::snprintf(cpu_text, sizeof cpu_text, "%.1f", *server_cpu_s * 100);
  const std::string server_cpu = cpu_text;
  std::string why;
  for (char c : first_failure)
    if (c != '"' && c != '\\' && static_cast<unsigned char>(c) >= 0x20) why += c;
  std::printf(
      "{\"sessions\": %zu, \"ready\": %zu, \"setup_failed\": %zu, \"setup_seconds\": %.2f, "
      "\"first_failure\": \"%s\", \"rate_per_session\": %u, \"burst\": %u, \"size\": %zu, "
      "\"seconds\": %.2f, \"offered_pps\": %.0f, \"sent\": %llu, \"sent_pps\": %.0f, "
      "\"client_send_failures\": %llu, \"peer_received\": %llu, \"peer_echoed\": %llu, "
      "\"peer_send_failures\": %llu, \"received\": %llu, \"corrupt\": %llu, "
      "\"loss_up\": %llu, \"loss_down\": %llu, \"loss_up_percent\": %.4f, "
      "\"loss_down_percent\": %.4f, \"sessions_with_loss\": %llu, \"relayed_pps\": %.0f, "
      "\"mbit_per_s\": %.1f, \"rtt_us\": {\"p50\": %.0f, \"p99\": %.0f, \"max\": %.0f}, "
      "\"server_cpu_percent\": %s, \"load_cpu_percent\": %.1f}\n",
      a.sessions, n_ready, a.sessions - n_ready, setup_s, why.c_str(), a.rate, a.burst, a.size,
      window, static_cast<double>(n_ready) * a.rate, static_cast<unsigned long long>(sent),
      static_cast<double>(sent) / send_s, static_cast<unsigned long long>(send_failures),
      static_cast<unsigned long long>(up), static_cast<unsigned long long>(echo.echoed),
      static_cast<unsigned long long>(echo.send_failures),
      static_cast<unsigned long long>(totals.received),
      static_cast<unsigned long long>(totals.corrupt), static_cast<unsigned long long>(loss_up),
      static_cast<unsigned long long>(loss_down),
      sent ? 100.0 * static_cast<double>(loss_up) / static_cast<double>(sent) : 0.0,
      echo.echoed ? 100.0 * static_cast<double>(loss_down) / static_cast<double>(echo.echoed) : 0.0,
      static_cast<unsigned long long>(sessions_lossy), relayed_pps, mbps, totals.percentile_us(0.5),
      totals.percentile_us(0.99), static_cast<double>(totals.rtt_max_ns) / 1000.0,
      server_cpu.c_str(), own_cpu_s * 100);
  return n_ready == 0 ? 1 : 0;
}

// A load generator for tern control (bench/control.sh): simulated agents on one epoll loop.
// It registers --peers machines with one reusable setup key (--in-flight requests at once)
// and times them, opens --streams map streams with their stream tokens and reads their full
// maps, then makes --changes peer changes one after another and times each from the change
// to the receipt of the delta carrying it by the LAST open stream. Plain HTTP only
// (`tern control serve --dev-plain-http` on loopback): the bench measures the server, not TLS.
//
//   control_load --url http://127.0.0.1:PORT --setup-key tsk_... [--admin-token tat_...]
//                [--peers N] [--streams M] [--changes K] [--kinds endpoints,register,remove]
//                [--in-flight F] [--open-in-flight F] [--change-timeout S] [--seconds S] [--json]
//
// Change kinds: `endpoints` (an open agent reports a new endpoint on its stream), `register`
// (a new machine registers), `remove` (the admin API removes the machine registered last;
// needs --admin-token). A change is found in a stream's messages by a text only it has: the
// new endpoint, or the new machine's public key. Exit: 0 done, 1 failed, 2 usage.
#include <netdb.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "control/agent_http.hpp"
#include "control/agent_messages.hpp"
#include "control/websocket.hpp"
#include "crypto/key_encoding.hpp"
#include "crypto/random.hpp"
#include "crypto/x25519.hpp"

namespace {

using namespace tern;
using Clock = std::chrono::steady_clock;

double ms_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

struct Args {
  std::string url;
  std::string setup_key;
  std::string admin_token;
  size_t peers = 10'000;
  size_t streams = 2'000;
  size_t changes = 30;
  std::vector<std::string> kinds = {"endpoints", "register", "remove"};
  size_t in_flight = 32;
  size_t open_in_flight = 64;
  double change_timeout_s = 10;
  double seconds = 600;
  bool json_only = false;
};

// The p-th percentile (0..100) of `v`, nearest rank; 0 for none.
double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t rank = static_cast<size_t>(p / 100.0 * static_cast<double>(v.size()) + 0.999999);
  return v[std::clamp<size_t>(rank, 1, v.size()) - 1];
}

// `"text"`: a JSON string as it appears whole in a message, never as a prefix of another.
// (Appended rather than `"\"" + s`, which g++ 12 -O3 misreads as an overlapping copy.)
std::string as_json_string(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 2);
  out.push_back('"');
  out.append(text);
  out.push_back('"');
  return out;
}

// A nonblocking TCP connection to the server.
int connect_to(const sockaddr_storage& addr, socklen_t len) {
  int fd = ::socket(addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), len) != 0 && errno != EINPROGRESS) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// One HTTP request on its own connection (the server answers one per connection). Keeps the
// response head and the body's last kTail bytes: a register answer's peer record and stream
// token come after its map (JSON keys are sorted), and the map can be megabytes.
struct HttpCall {
  static constexpr size_t kTail = 16384;
  int fd = -1;
  std::string out;
  size_t sent = 0;
  std::string head;  // until parsed, then empty
  control::HttpResponseHead parsed;
  bool have_head = false;
  size_t body_bytes = 0;
  std::string tail;
  Clock::time_point started;
  bool done = false;
  bool failed = false;
  std::string why;    // what failed, for the report
  crypto::Key key{};  // the machine registering, for register calls

  void feed(const char* p, size_t n) {
    if (!have_head) {
      head.append(p, n);
      auto r = control::parse_http_response_head(head, parsed);
      if (r.result == control::ResponseParse::kBad) {
        failed = done = true;
        why = "bad answer head";
      }
      if (r.result != control::ResponseParse::kOk) return;
      have_head = true;
      std::string rest = head.substr(r.consumed);
      head.clear();
      add_body(rest.data(), rest.size());
      return;
    }
    add_body(p, n);
  }
  void add_body(const char* p, size_t n) {
    body_bytes += n;
    tail.append(p, n);
    if (tail.size() > 2 * kTail) tail.erase(0, tail.size() - kTail);
    if (parsed.has_content_length && body_bytes >= parsed.content_length) done = true;
  }
  // The string value of `"name":"...` in the tail.
  std::string field(std::string_view name) const {
    const std::string pat = "\"" + std::string(name) + "\":";
    size_t at = tail.rfind(pat);
    if (at == std::string::npos) return "";
    at += pat.size();
    if (at < tail.size() && tail[at] == '"') {
      size_t end = tail.find('"', at + 1);
      return end == std::string::npos ? "" : tail.substr(at + 1, end - at - 1);
    }
    size_t end = tail.find_first_of(",}", at);
    return end == std::string::npos ? "" : tail.substr(at, end - at);
  }
};

// A simulated agent's map stream: the upgrade, then server frames read as they come (large
// frames, the full maps, are counted and skipped rather than kept).
struct Stream {
  static constexpr size_t kKeep = 256 << 10;
  int fd = -1;
  std::string token;
  std::string ws_key;
  std::string out;
  std::string head;
  bool upgraded = false;
  bool got_map = false;
  bool closed = false;
  // frame reader
  std::string hdr;
  uint64_t remaining = 0;
  bool in_payload = false;
  uint8_t opcode = 0;
  bool fin = true;
  uint64_t frame_len = 0;
  std::string payload;  // kept when the message is at most kKeep
  uint64_t message_len = 0;
  uint8_t message_op = 0;
  uint64_t map_bytes = 0;
  uint64_t messages = 0;
};

class Load {
 public:
  explicit Load(Args args) : a_(std::move(args)) {}
  int run();

 private:
  bool setup();
  void loop_once(int timeout_ms);
  bool phase_register();
  bool phase_streams();
  void phase_changes();
  size_t start_call(std::string request, const crypto::Key& key);
  void on_call(size_t i, uint32_t ev);
  void finish_call(size_t i);
  void open_stream(size_t i);
  void on_stream(size_t i, uint32_t ev);
  void stream_bytes(size_t i, const char* p, size_t n, Clock::time_point now);
  void stream_frame(size_t i, Clock::time_point now);
  void end_stream(size_t i, bool by_server);
  void flush_stream(size_t i);
  bool expired() const { return Clock::now() >= deadline_; }
  std::string register_request(const crypto::Key& key, size_t n) const;
  void report();

  Args a_;
  std::string host_port_;
  sockaddr_storage addr_{};
  socklen_t addr_len_ = 0;
  int ep_ = -1;
  Clock::time_point deadline_;
  std::map<size_t, std::unique_ptr<HttpCall>> calls_;
  size_t next_call_ = 0;
  std::vector<Stream> streams_;
  std::vector<std::string> tokens_;
  // registration
  size_t reg_ok_ = 0, reg_failed_ = 0;
  std::map<int, size_t> reg_status_;
  std::map<std::string, size_t> reg_errors_;
  std::vector<double> reg_fail_ms_;  // how long failed ones took
  std::vector<double> reg_ms_;
  double reg_s_ = 0;
  // streams
  size_t open_ok_ = 0, open_refused_ = 0, closed_by_server_ = 0;
  double open_s_ = 0;
  uint64_t map_bytes_max_ = 0, map_bytes_total_ = 0;
  // changes
  std::string marker_;
  std::vector<Clock::time_point> seen_;
  std::vector<bool> waiting_;
  size_t waiting_left_ = 0;
  std::map<std::string, std::vector<double>> delays_;  // by kind
  size_t missed_ = 0;
  size_t unfinished_changes_ = 0;
};

constexpr uint64_t kStreamTag = 1ull << 40;

bool Load::setup() {
  auto url = control::parse_control_url(a_.url);
  if (!url || url->tls) {
    std::fprintf(stderr, "control_load: --url must be http://HOST:PORT (plain, loopback)\n");
    return false;
  }
  host_port_ = url->host_port;
  size_t colon = host_port_.rfind(':');
  std::string host = host_port_.substr(0, colon), port = host_port_.substr(colon + 1);
  if (!host.empty() && host.front() == '[') host = host.substr(1, host.size() - 2);
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
  addrinfo* res = nullptr;
  if (::getaddrinfo(host.c_str(), port.c_str(), &hints, &res) != 0 || !res) {
    std::fprintf(stderr, "control_load: %s is not a numeric address\n", host_port_.c_str());
    return false;
  }
  std::memcpy(&addr_, res->ai_addr, res->ai_addrlen);
  addr_len_ = res->ai_addrlen;
  ::freeaddrinfo(res);
  // Every stream is a descriptor, plus the calls in flight.
  rlimit rl{};
  ::getrlimit(RLIMIT_NOFILE, &rl);
  rlim_t want = a_.streams + a_.in_flight + 256;
  if (rl.rlim_cur < want) {
    rl.rlim_cur = std::min(want, rl.rlim_max);
    if (rl.rlim_cur < want) rl.rlim_max = rl.rlim_cur = want;  // root may raise the hard limit
    if (::setrlimit(RLIMIT_NOFILE, &rl) != 0) {
      std::fprintf(stderr, "control_load: cannot raise RLIMIT_NOFILE to %llu\n",
                   static_cast<unsigned long long>(want));
      return false;
    }
  }
  ep_ = ::epoll_create1(EPOLL_CLOEXEC);
  deadline_ = Clock::now() + std::chrono::milliseconds(static_cast<int64_t>(a_.seconds * 1000));
  return ep_ >= 0;
}

void Load::loop_once(int timeout_ms) {
  epoll_event evs[256];
  int n = ::epoll_wait(ep_, evs, 256, timeout_ms);
  for (int k = 0; k < n; ++k) {
    uint64_t d = evs[k].data.u64;
    if (d & kStreamTag)
      on_stream(static_cast<size_t>(d & ~kStreamTag), evs[k].events);
    else
      on_call(static_cast<size_t>(d), evs[k].events);
  }
}

std::string Load::register_request(const crypto::Key& key, size_t n) const {
  std::string body =
      control::register_request_json(a_.setup_key, key, "load-" + std::to_string(n), {});
  return control::register_http_request(host_port_, body);
}

size_t Load::start_call(std::string request, const crypto::Key& key) {
  size_t id = next_call_++;
  auto c = std::make_unique<HttpCall>();
  c->out = std::move(request);
  c->key = key;
  c->started = Clock::now();
  c->fd = connect_to(addr_, addr_len_);
  if (c->fd < 0) {
    c->failed = c->done = true;
    c->why = std::string("connect: ") + std::strerror(errno);
  } else {
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP;
    ev.data.u64 = id;
    ::epoll_ctl(ep_, EPOLL_CTL_ADD, c->fd, &ev);
  }
  calls_[id] = std::move(c);
  return id;
}

void Load::on_call(size_t i, uint32_t ev) {
  auto it = calls_.find(i);
  if (it == calls_.end()) return;
  HttpCall& c = *it->second;
  if ((ev & EPOLLOUT) && c.sent < c.out.size()) {
    ssize_t w = ::send(c.fd, c.out.data() + c.sent, c.out.size() - c.sent, MSG_NOSIGNAL);
    if (w > 0) c.sent += static_cast<size_t>(w);
    if (w < 0 && errno != EAGAIN) {
      c.failed = c.done = true;
      c.why = std::string("send: ") + std::strerror(errno);
    }
    if (c.sent == c.out.size()) {
      epoll_event e{};
      e.events = EPOLLIN | EPOLLRDHUP;
      e.data.u64 = i;
      ::epoll_ctl(ep_, EPOLL_CTL_MOD, c.fd, &e);
    }
  }
  char buf[65536];
  while (!c.done && (ev & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))) {
    ssize_t r = ::recv(c.fd, buf, sizeof buf, 0);
    if (r > 0) {
      c.feed(buf, static_cast<size_t>(r));
      continue;
    }
    if (r == 0) c.done = true;  // Connection: close ends the answer
    if (r < 0 && errno != EAGAIN) {
      c.failed = c.done = true;
      c.why = std::string("recv: ") + std::strerror(errno);
    }
    if (r == 0 && !c.have_head) c.why = "closed before an answer";
    break;
  }
}

void Load::finish_call(size_t i) {
  HttpCall& c = *calls_[i];
  if (c.fd >= 0) ::close(c.fd);
  c.fd = -1;
}

bool Load::phase_register() {
  const auto t0 = Clock::now();
  size_t next = 0;
  std::map<size_t, size_t> live;  // call id -> peer number
  while ((next < a_.peers || !live.empty()) && !expired()) {
    while (next < a_.peers && live.size() < a_.in_flight) {
      crypto::Key key = crypto::public_key_from_private(crypto::generate_private_key());
      live[start_call(register_request(key, next), key)] = next;
      ++next;
    }
    loop_once(50);
    for (auto it = live.begin(); it != live.end();) {
      HttpCall& c = *calls_[it->first];
      if (!c.done) {
        ++it;
        continue;
      }
      finish_call(it->first);
      const int status = c.have_head ? c.parsed.status : 0;
      ++reg_status_[status];
      std::string token = c.field("stream_token");
      if (!c.failed && (status == 200 || status == 201) && token.rfind("tpt_", 0) == 0) {
        ++reg_ok_;
        reg_ms_.push_back(ms_between(c.started, Clock::now()));
        tokens_.push_back(std::move(token));
      } else {
        ++reg_failed_;
        ++reg_errors_[c.why.empty() ? "HTTP " + std::to_string(status) : c.why];
        reg_fail_ms_.push_back(ms_between(c.started, Clock::now()));
      }
      calls_.erase(it->first);
      it = live.erase(it);
    }
  }
  reg_s_ = ms_between(t0, Clock::now()) / 1000;
  if (!a_.json_only)
    std::fprintf(stderr, "registered %zu of %zu in %.1f s (%zu failed)\n", reg_ok_, a_.peers,
                 reg_s_, reg_failed_);
  return reg_ok_ > 0;
}

void Load::open_stream(size_t i) {
  Stream& s = streams_[i];
  std::array<uint8_t, 16> rnd{};
  crypto::random_bytes(rnd);
  s.ws_key = control::ws_client_key(rnd);
  s.out = control::stream_http_request(host_port_, s.token, s.ws_key);
  s.fd = connect_to(addr_, addr_len_);
  if (s.fd < 0) {
    s.closed = true;
    ++open_refused_;
    return;
  }
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP;
  ev.data.u64 = kStreamTag | i;
  ::epoll_ctl(ep_, EPOLL_CTL_ADD, s.fd, &ev);
}

void Load::flush_stream(size_t i) {
  Stream& s = streams_[i];
  while (!s.out.empty()) {
    ssize_t w = ::send(s.fd, s.out.data(), s.out.size(), MSG_NOSIGNAL);
    if (w <= 0) break;
    s.out.erase(0, static_cast<size_t>(w));
  }
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLRDHUP | (s.out.empty() ? 0u : uint32_t{EPOLLOUT});
  ev.data.u64 = kStreamTag | i;
  ::epoll_ctl(ep_, EPOLL_CTL_MOD, s.fd, &ev);
}

void Load::end_stream(size_t i, bool by_server) {
  Stream& s = streams_[i];
  if (s.closed) return;
  s.closed = true;
  if (!s.got_map) ++open_refused_;
  if (by_server && s.got_map) ++closed_by_server_;
  if (i < waiting_.size() && waiting_[i]) {
    waiting_[i] = false;
    --waiting_left_;
  }
  ::close(s.fd);
  s.fd = -1;
}

void Load::on_stream(size_t i, uint32_t ev) {
  Stream& s = streams_[i];
  if (s.closed) return;
  if (ev & EPOLLOUT) flush_stream(i);
  char buf[65536];
  for (int rounds = 0; rounds < 64 && !s.closed; ++rounds) {
    ssize_t r = ::recv(s.fd, buf, sizeof buf, 0);
    if (r > 0) {
      stream_bytes(i, buf, static_cast<size_t>(r), Clock::now());
      continue;
    }
    if (r == 0 || errno != EAGAIN) end_stream(i, true);
    break;
  }
}

void Load::stream_bytes(size_t i, const char* p, size_t n, Clock::time_point now) {
  Stream& s = streams_[i];
  if (!s.upgraded) {
    s.head.append(p, n);
    control::HttpResponseHead h;
    auto r = control::parse_http_response_head(s.head, h);
    if (r.result == control::ResponseParse::kIncomplete) return;
    if (r.result == control::ResponseParse::kBad || !control::check_stream_upgrade(h, s.ws_key)) {
      end_stream(i, false);
      return;
    }
    s.upgraded = true;
    std::string rest = s.head.substr(r.consumed);
    s.head.clear();
    if (!rest.empty()) stream_bytes(i, rest.data(), rest.size(), now);
    return;
  }
  while (n > 0 && !s.closed) {
    if (!s.in_payload) {
      s.hdr.push_back(*p++);
      --n;
      const auto* h = reinterpret_cast<const uint8_t*>(s.hdr.data());
      if (s.hdr.size() < 2) continue;
      if (h[1] & 0x80) {  // servers never mask (RFC 6455 §5.1)
        end_stream(i, false);
        return;
      }
      const uint8_t len7 = h[1] & 0x7f;
      const size_t need = len7 == 126 ? 4 : len7 == 127 ? 10 : 2;
      if (s.hdr.size() < need) continue;
      uint64_t len = len7;
      if (need > 2) {
        len = 0;
        for (size_t k = 2; k < need; ++k)
          len = (len << 8) | h[k];
      }
      s.fin = (h[0] & 0x80) != 0;
      s.opcode = h[0] & 0x0f;
      s.frame_len = s.remaining = len;
      s.hdr.clear();
      s.in_payload = true;
      if (s.opcode != 0) {  // a new message (control frames are never fragmented)
        s.message_op = s.opcode;
        s.message_len = 0;
        s.payload.clear();
      }
    }
    const size_t take = static_cast<size_t>(std::min<uint64_t>(s.remaining, n));
    if (s.message_len + take <= Stream::kKeep || s.payload.size() < 64)
      s.payload.append(p, std::min(take, Stream::kKeep + 64 - s.payload.size()));
    s.message_len += take;
    s.remaining -= take;
    p += take;
    n -= take;
    if (s.remaining == 0) {
      s.in_payload = false;
      if (s.fin) stream_frame(i, now);
    }
  }
}

void Load::stream_frame(size_t i, Clock::time_point now) {
  Stream& s = streams_[i];
  const auto op = static_cast<control::WsOpcode>(s.message_op);
  if (op == control::WsOpcode::kPing) {
    std::array<uint8_t, 4> mask{};
    crypto::random_bytes(mask);
    s.out += control::encode_ws_frame(control::WsOpcode::kPong, s.payload, mask);
    flush_stream(i);
    return;
  }
  if (op == control::WsOpcode::kClose) {
    end_stream(i, true);
    return;
  }
  if (op != control::WsOpcode::kText) return;
  ++s.messages;
  const bool whole = s.message_len <= Stream::kKeep;
  // nlohmann writes keys sorted: a map starts with "peers", a delta with "from".
  const bool is_map = s.payload.rfind("{\"peers\":", 0) == 0;
  if (is_map) {
    if (!s.got_map) {
      s.got_map = true;
      ++open_ok_;
    }
    s.map_bytes = s.message_len;
    map_bytes_max_ = std::max(map_bytes_max_, s.message_len);
    map_bytes_total_ += s.message_len;
  }
  if (whole && s.payload.find("\"type\":\"removed\"") != std::string::npos) {
    end_stream(i, true);
    return;
  }
  if (!marker_.empty() && i < waiting_.size() && waiting_[i] && whole &&
      s.payload.find(marker_) != std::string::npos) {
    waiting_[i] = false;
    seen_[i] = now;
    --waiting_left_;
  }
}

bool Load::phase_streams() {
  const size_t m = std::min(a_.streams, tokens_.size());
  streams_.resize(m);
  for (size_t i = 0; i < m; ++i)
    streams_[i].token = tokens_[i];
  const auto t0 = Clock::now();
  size_t next = 0;
  auto pending = [&] {  // opened and waiting for their map
    size_t p = 0;
    for (size_t k = 0; k < next; ++k)
      p += !streams_[k].closed && !streams_[k].got_map;
    return p;
  };
  size_t in_flight = 0;
  while ((next < m || in_flight > 0) && !expired()) {
    while (next < m && in_flight < a_.open_in_flight) {
      open_stream(next++);
      ++in_flight;
    }
    loop_once(50);
    in_flight = pending();
  }
  open_s_ = ms_between(t0, Clock::now()) / 1000;
  if (!a_.json_only)
    std::fprintf(stderr, "streams: %zu of %zu open with their map in %.1f s (%zu refused)\n",
                 open_ok_, m, open_s_, open_refused_);
  return open_ok_ > 0;
}

void Load::phase_changes() {
  seen_.assign(streams_.size(), {});
  std::optional<std::pair<std::string, crypto::Key>> fresh;  // id and key of the newest machine
  size_t endpoint_agent = 0;
  for (size_t k = 0; k < a_.changes && !expired(); ++k) {
    const std::string& kind = a_.kinds[k % a_.kinds.size()];
    waiting_.assign(streams_.size(), false);
    size_t changer = streams_.size();
    std::optional<size_t> call;
    Clock::time_point t0;
    if (kind == "endpoints") {
      for (size_t tries = 0; tries < streams_.size(); ++tries) {
        size_t c = endpoint_agent++ % streams_.size();
        if (!streams_[c].closed && streams_[c].got_map) {
          changer = c;
          break;
        }
      }
      if (changer == streams_.size()) break;
      // 198.18.0.0/15 (RFC 2544, benchmarking): an endpoint no other message has.
      const Endpoint ep{IpAddress::v4(0xc6120000u | static_cast<uint32_t>(k & 0x1ffff)),
                        static_cast<uint16_t>(10000 + k % 50000)};
      marker_ = as_json_string(ep.to_string());  // whole, not a prefix of another
      std::array<uint8_t, 4> mask{};
      crypto::random_bytes(mask);
      streams_[changer].out += control::encode_ws_frame(control::WsOpcode::kText,
                                                        control::endpoints_message({ep}), mask);
      t0 = Clock::now();
      flush_stream(changer);
    } else if (kind == "register") {
      crypto::Key key = crypto::public_key_from_private(crypto::generate_private_key());
      marker_ = as_json_string(crypto::key_to_base64(key));
      t0 = Clock::now();
      call = start_call(register_request(key, a_.peers + k), key);
    } else {  // remove
      if (!fresh) continue;
      marker_ = as_json_string(crypto::key_to_base64(fresh->second));
      std::string req = "DELETE /api/v1/peers/" + fresh->first +
                        " HTTP/1.1\r\nHost: " + host_port_ + "\r\nAuthorization: Bearer " +
                        a_.admin_token + "\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
      fresh.reset();
      t0 = Clock::now();
      call = start_call(std::move(req), {});
    }
    waiting_left_ = 0;
    for (size_t i = 0; i < streams_.size(); ++i) {
      if (i != changer && !streams_[i].closed && streams_[i].got_map) {
        waiting_[i] = true;
        ++waiting_left_;
      }
    }
    const auto limit =
        t0 + std::chrono::milliseconds(static_cast<int64_t>(a_.change_timeout_s * 1000));
    bool call_ok = !call;
    while ((waiting_left_ > 0 || (call && calls_.count(*call))) && Clock::now() < limit) {
      loop_once(20);
      if (call && calls_.count(*call) && calls_[*call]->done) {
        HttpCall& c = *calls_[*call];
        finish_call(*call);
        const int status = c.have_head ? c.parsed.status : 0;
        call_ok = !c.failed && status >= 200 && status < 300;
        if (kind == "register" && call_ok) fresh = {{c.field("id"), c.key}};
        if (!call_ok && !a_.json_only)
          std::fprintf(stderr, "change %zu (%s): HTTP %d\n", k, kind.c_str(), status);
        calls_.erase(*call);
        call.reset();
      }
    }
    if (call) {
      finish_call(*call);
      calls_.erase(*call);
    }
    if (!call_ok || waiting_left_ > 0) {
      ++unfinished_changes_;
      missed_ += waiting_left_;
      if (!a_.json_only)
        std::fprintf(stderr, "change %zu (%s): %zu streams did not get it within %.0f s\n", k,
                     kind.c_str(), waiting_left_, a_.change_timeout_s);
    } else {
      Clock::time_point last = t0;
      for (size_t i = 0; i < streams_.size(); ++i)
        if (i != changer && !streams_[i].closed && streams_[i].got_map)
          last = std::max(last, seen_[i]);
      delays_[kind].push_back(ms_between(t0, last));
    }
    marker_.clear();
    // A breath between changes, streams still served (pings, late messages).
    const auto pause = Clock::now() + std::chrono::milliseconds(100);
    while (Clock::now() < pause)
      loop_once(20);
  }
}

void Load::report() {
  std::vector<double> all;
  for (const auto& [kind, v] : delays_)
    all.insert(all.end(), v.begin(), v.end());
  nlohmann::json j;
  j["peers_requested"] = a_.peers;
  j["registered"] = reg_ok_;
  j["register_failed"] = reg_failed_;
  nlohmann::json st;
  for (auto [code, count] : reg_status_)
    st[std::to_string(code)] = count;
  j["register_status"] = st;
  j["register_errors"] = reg_errors_;
  j["register_failed_after_ms"] = {{"min", percentile(reg_fail_ms_, 0)},
                                   {"p50", percentile(reg_fail_ms_, 50)},
                                   {"max", percentile(reg_fail_ms_, 100)}};
  j["register_seconds"] = reg_s_;
  j["register_per_second"] = reg_s_ > 0 ? static_cast<double>(reg_ok_) / reg_s_ : 0;
  j["register_p50_ms"] = percentile(reg_ms_, 50);
  j["register_p99_ms"] = percentile(reg_ms_, 99);
  j["streams_requested"] = a_.streams;
  j["streams_open"] = open_ok_;
  j["streams_refused"] = open_refused_;
  j["streams_closed_by_server"] = closed_by_server_;
  j["streams_open_seconds"] = open_s_;
  j["map_bytes_max"] = map_bytes_max_;
  j["map_bytes_total"] = map_bytes_total_;
  j["changes"] = all.size();
  j["changes_unfinished"] = unfinished_changes_;
  j["stream_receipts_missed"] = missed_;
  j["delay_p50_ms"] = percentile(all, 50);
  j["delay_p99_ms"] = percentile(all, 99);
  j["delay_max_ms"] = percentile(all, 100);
  nlohmann::json by;
  for (const auto& [kind, v] : delays_)
    by[kind] = {{"count", v.size()}, {"p50_ms", percentile(v, 50)}, {"p99_ms", percentile(v, 99)}};
  j["delay_by_kind"] = by;
  if (!a_.json_only) {
    std::fprintf(stderr,
                 "registration: %.1f/s (p50 %.1f ms, p99 %.1f ms)\n"
                 "change -> last stream: p50 %.1f ms, p99 %.1f ms, max %.1f ms over %zu changes "
                 "(%zu unfinished)\n",
                 j["register_per_second"].get<double>(), j["register_p50_ms"].get<double>(),
                 j["register_p99_ms"].get<double>(), j["delay_p50_ms"].get<double>(),
                 j["delay_p99_ms"].get<double>(), j["delay_max_ms"].get<double>(), all.size(),
                 unfinished_changes_);
  }
  std::printf("%s\n", j.dump().c_str());
}

int Load::run() {
  if (!setup()) return 1;
  if (!phase_register()) {
    std::fprintf(stderr, "control_load: no registration succeeded\n");
    report();
    return 1;
  }
  if (a_.streams > 0 && phase_streams()) phase_changes();
  report();
  for (auto& s : streams_)
    if (s.fd >= 0) ::close(s.fd);
  return 0;
}

bool parse_args(int argc, char** argv, Args& a) {
  for (int i = 1; i < argc; ++i) {
    std::string_view o = argv[i];
    auto next = [&]() -> const char* { return i + 1 < argc ? argv[++i] : nullptr; };
    auto size = [&](size_t& out) {
      const char* v = next();
      if (!v) return false;
      char* end = nullptr;
      unsigned long long x = std::strtoull(v, &end, 10);
      if (*end != '\0') return false;
      out = static_cast<size_t>(x);
      return true;
    };
    auto real = [&](double& out) {
      const char* v = next();
      if (!v) return false;
      char* end = nullptr;
      out = std::strtod(v, &end);
      return *end == '\0' && out > 0;
    };
    bool ok = true;
    if (o == "--url" || o == "--setup-key" || o == "--admin-token") {
      const char* v = next();
      ok = v != nullptr;
      if (ok) (o == "--url" ? a.url : o == "--setup-key" ? a.setup_key : a.admin_token) = v;
    } else if (o == "--peers") {
      ok = size(a.peers);
    } else if (o == "--streams") {
      ok = size(a.streams);
    } else if (o == "--changes") {
      ok = size(a.changes);
    } else if (o == "--in-flight") {
      ok = size(a.in_flight) && a.in_flight > 0;
    } else if (o == "--open-in-flight") {
      ok = size(a.open_in_flight) && a.open_in_flight > 0;
    } else if (o == "--change-timeout") {
      ok = real(a.change_timeout_s);
    } else if (o == "--seconds") {
      ok = real(a.seconds);
    } else if (o == "--kinds") {
      const char* v = next();
      ok = v != nullptr;
      a.kinds.clear();
      for (std::string_view rest = v ? v : ""; ok && !rest.empty();) {
        size_t c = rest.find(',');
        std::string k(rest.substr(0, c));
        ok = k == "endpoints" || k == "register" || k == "remove";
        a.kinds.push_back(k);
        rest = c == std::string_view::npos ? "" : rest.substr(c + 1);
      }
      ok = ok && !a.kinds.empty();
    } else if (o == "--json") {
      a.json_only = true;
    } else {
      ok = false;
    }
    if (!ok) {
      std::fprintf(stderr, "control_load: bad or incomplete option %s\n", argv[i]);
      return false;
    }
  }
  const bool removes = std::find(a.kinds.begin(), a.kinds.end(), "remove") != a.kinds.end();
  if (a.url.empty() || a.setup_key.empty() || (removes && a.admin_token.empty())) {
    std::fprintf(stderr,
                 "usage: control_load --url http://HOST:PORT --setup-key tsk_... "
                 "[--admin-token tat_... (for remove)] [--peers N] [--streams M] [--changes K]\n"
                 "       [--kinds endpoints,register,remove] [--in-flight F] "
                 "[--open-in-flight F] [--change-timeout S] [--seconds S] [--json]\n");
    return false;
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  Args args;
  if (!parse_args(argc, argv, args)) return 2;
  return Load(std::move(args)).run();
}

// A test agent for tern control's map stream (docs/control.md, "The agent stream"): it
// registers with a setup key (or uses a stream token it was given), opens
// GET /api/v1/stream as a WebSocket and prints every message the server sends as one JSON
// line on stdout. What it does itself goes to stderr.
//
//   control_stream_client --url https://HOST:PORT [--ca FILE]
//                         (--setup-key tsk_... [--name NAME] | --token tpt_...)
//                         [--token-out FILE] [--endpoints ADDR:PORT,...] [--seconds N]
//                         [--reconnect]
//
// --endpoints is sent once after each full map. --reconnect opens the stream again (every
// 200 ms) after it ends, until --seconds (default 30) have passed. Exit: 0 when the time
// is up or the server closed the stream; 3 when the server refused (401/403/...); 1 for
// any other failure; 2 for usage errors.
#include <cstdio>
#include <fstream>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include <sodium.h>

#include <nlohmann/json.hpp>

#include "agent/resolve.hpp"
#include "base/decimal.hpp"
#include "control/websocket.hpp"
#include "crypto/key_encoding.hpp"
#include "crypto/random.hpp"
#include "crypto/x25519.hpp"
#include "io/client_conn.hpp"
#include "io/clock.hpp"
#include "io/poller.hpp"

namespace {

using namespace tern;

struct Args {
  std::string url;
  std::string ca;
  std::string setup_key;
  std::string name = "stream-client";
  std::string token;
  std::string token_out;
  std::string endpoints;
  int seconds = 30;
  bool reconnect = false;
};

struct Target {
  bool tls = true;
  std::string host;
  std::string host_port;
};

// Refused by the server: exit 3.
struct Refused {
  int status = 0;
};

Result<Target> parse_url(const std::string& url) {
  Target t;
  std::string rest;
  if (url.starts_with("https://")) {
    rest = url.substr(8);
  } else if (url.starts_with("http://")) {
    t.tls = false;
    rest = url.substr(7);
  } else {
    return fail("--url must be https://HOST:PORT or http://HOST:PORT");
  }
  t.host_port = rest.substr(0, rest.find('/'));
  t.host = t.host_port.substr(0, t.host_port.rfind(':'));
  if (t.host.starts_with('[')) t.host = t.host.substr(1, t.host.size() - 2);
  return t;
}

Result<io::ClientConn> connect(const Args& a, const Target& t, Instant deadline) {
  auto ep = agent::resolve_endpoint(t.host_port);
  if (!ep) return tl::unexpected(ep.error());
  return io::ClientConn::connect({*ep, t.tls, t.host, a.ca}, deadline);
}

// "HTTP/1.1 201 ..." -> 201 and the head's length; nullopt while incomplete.
std::optional<std::pair<int, size_t>> response_head(const std::string& in) {
  const size_t end = in.find("\r\n\r\n");
  if (end == std::string::npos || in.size() < 12) return std::nullopt;
  const auto code = parse_decimal(std::string_view(in).substr(9, 3), 999);
  return std::pair<int, size_t>{code ? static_cast<int>(*code) : 0, end + 4};
}

// POST /api/v1/register; returns the stream token.
Result<std::variant<std::string, Refused>> register_peer(const Args& a, const Target& t,
                                                         Instant deadline) {
  auto conn = connect(a, t, deadline);
  if (!conn) return tl::unexpected(conn.error());
  const crypto::Key priv = crypto::generate_private_key();
  const nlohmann::json body = {
      {"setup_key", a.setup_key},
      {"public_key", crypto::key_to_base64(crypto::public_key_from_private(priv))},
      {"name", a.name}};
  const std::string text = body.dump();
  const std::string request = "POST /api/v1/register HTTP/1.1\r\nHost: " + t.host_port +
                              "\r\nConnection: close\r\nContent-Type: application/json\r\n"
                              "Content-Length: " +
                              std::to_string(text.size()) + "\r\n\r\n" + text;
  if (auto st = conn->write_all(request, deadline); !st) return tl::unexpected(st.error());
  std::string in;
  for (;;) {
    auto more = conn->read_some(in, deadline);
    if (!more) return tl::unexpected(more.error());
    if (!*more) break;
    if (io::monotonic_now() >= deadline) return fail("registration timed out");
  }
  const auto head = response_head(in);
  if (!head) return fail("the answer to register is not HTTP");
  if (head->first != 200 && head->first != 201) {
    std::fprintf(stderr, "register: HTTP %d %s\n", head->first, in.substr(head->second).c_str());
    return Refused{head->first};
  }
  const auto j = nlohmann::json::parse(in.substr(head->second), nullptr, false);
  if (j.is_discarded() || !j.contains("stream_token")) return fail("no stream_token in the answer");
  return j["stream_token"].get<std::string>();
}

std::array<uint8_t, 4> random_mask() {
  std::array<uint8_t, 4> m{};
  crypto::random_bytes(m);
  return m;
}

bool is_full_map(const std::string& text) {
  const auto j = nlohmann::json::parse(text, nullptr, false);
  return j.is_object() && j.value("type", "") == "map";
}

std::string endpoints_message(const std::string& list) {
  nlohmann::json eps = nlohmann::json::array();
  size_t start = 0;
  while (start < list.size()) {
    size_t comma = list.find(',', start);
    if (comma == std::string::npos) comma = list.size();
    eps.push_back(list.substr(start, comma - start));
    start = comma + 1;
  }
  return nlohmann::json{{"type", "endpoints"}, {"endpoints", eps}}.dump();
}

// One stream until it ends or `end`. Returns the HTTP status when refused.
Result<std::optional<Refused>> run_stream(const Args& a, const Target& t, const std::string& token,
                                          Instant end) {
  auto conn = connect(a, t, std::min(end, io::monotonic_now() + std::chrono::seconds(5)));
  if (!conn) return tl::unexpected(conn.error());
  // Sec-WebSocket-Key: 16 random bytes in base64.
  std::array<uint8_t, 16> nonce{};
  crypto::random_bytes(nonce);
  char key_text[sodium_base64_ENCODED_LEN(16, sodium_base64_VARIANT_ORIGINAL)];
  sodium_bin2base64(key_text, sizeof key_text, nonce.data(), nonce.size(),
                    sodium_base64_VARIANT_ORIGINAL);
  const std::string key = key_text;
  const std::string request = "GET /api/v1/stream HTTP/1.1\r\nHost: " + t.host_port +
                              "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                              "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: " +
                              key + "\r\nAuthorization: Bearer " + token + "\r\n\r\n";
  if (auto st = conn->write_all(request, end); !st) return tl::unexpected(st.error());
  std::string in;
  bool upgraded = false;
  for (;;) {
    const Instant now = io::monotonic_now();
    if (now >= end) return std::optional<Refused>();
    auto more = conn->read_some(in, std::min(end, now + std::chrono::milliseconds(500)));
    if (!more) return tl::unexpected(more.error());
    if (!upgraded) {
      const auto head = response_head(in);
      if (!head) {
        if (!*more) return fail("the server closed before answering the upgrade");
        continue;
      }
      if (head->first != 101) {
        std::fprintf(stderr, "stream: HTTP %d %s\n", head->first, in.substr(head->second).c_str());
        return std::optional<Refused>(Refused{head->first});
      }
      const std::string accept = control::ws_accept_key(key);
      if (in.substr(0, head->second).find("Sec-WebSocket-Accept: " + accept) == std::string::npos) {
        return fail("the 101 has the wrong Sec-WebSocket-Accept");
      }
      std::fprintf(stderr, "stream: open\n");
      in.erase(0, head->second);
      upgraded = true;
    }
    for (;;) {
      control::WsFrame f;
      const auto p = control::parse_ws_frame(in, false, f);
      if (p.result == control::WsParse::kIncomplete) break;
      if (p.result != control::WsParse::kOk) return fail("a bad frame from the server");
      in.erase(0, p.consumed);
      switch (f.opcode) {
        case control::WsOpcode::kText:
          std::printf("%s\n", f.payload.c_str());
          std::fflush(stdout);
          if (!a.endpoints.empty() && is_full_map(f.payload)) {
            auto st = conn->write_all(
                control::encode_ws_frame(control::WsOpcode::kText, endpoints_message(a.endpoints),
                                         random_mask()),
                end);
            if (!st) return tl::unexpected(st.error());
          }
          break;
        case control::WsOpcode::kPing: {
          auto st = conn->write_all(
              control::encode_ws_frame(control::WsOpcode::kPong, f.payload, random_mask()), end);
          if (!st) return tl::unexpected(st.error());
          break;
        }
        case control::WsOpcode::kClose: {
          const int code = f.payload.size() >= 2 ? (static_cast<uint8_t>(f.payload[0]) << 8) |
                                                       static_cast<uint8_t>(f.payload[1])
                                                 : 0;
          std::fprintf(stderr, "stream: closed by the server (%d %s)\n", code,
                       f.payload.size() > 2 ? f.payload.substr(2).c_str() : "");
          (void)conn->write_all(control::encode_ws_frame(control::WsOpcode::kClose,
                                                         f.payload.substr(0, 2), random_mask()),
                                end);
          return std::optional<Refused>();
        }
        default:
          break;
      }
    }
    if (!*more) {
      std::fprintf(stderr, "stream: connection ended\n");
      return std::optional<Refused>();
    }
  }
}

int usage(const char* why) {
  std::fprintf(stderr,
               "control_stream_client: %s\nusage: control_stream_client --url URL [--ca FILE] "
               "(--setup-key KEY [--name N] | --token TOKEN) [--token-out FILE] "
               "[--endpoints A:P,...] [--seconds N] [--reconnect]\n",
               why);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    const std::string k = argv[i];
    if (k == "--reconnect") {
      a.reconnect = true;
      continue;
    }
    if (i + 1 >= argc) return usage(("missing the value of " + k).c_str());
    const std::string v = argv[++i];
    if (k == "--url")
      a.url = v;
    else if (k == "--ca")
      a.ca = v;
    else if (k == "--setup-key")
      a.setup_key = v;
    else if (k == "--name")
      a.name = v;
    else if (k == "--token")
      a.token = v;
    else if (k == "--token-out")
      a.token_out = v;
    else if (k == "--endpoints")
      a.endpoints = v;
    else if (k == "--seconds")
      a.seconds = std::atoi(v.c_str());
    else
      return usage(("unknown option " + k).c_str());
  }
  if (a.url.empty() || (a.setup_key.empty() == a.token.empty()) || a.seconds <= 0) {
    return usage("--url and one of --setup-key/--token are needed");
  }
  auto target = parse_url(a.url);
  if (!target) return usage(target.error().message.c_str());
  const Instant end = io::monotonic_now() + std::chrono::seconds(a.seconds);

  std::string token = a.token;
  if (token.empty()) {
    auto r = register_peer(a, *target, end);
    if (!r) {
      std::fprintf(stderr, "register: %s\n", r.error().message.c_str());
      return 1;
    }
    if (std::holds_alternative<Refused>(*r)) return 3;
    token = std::get<std::string>(*r);
    std::fprintf(stderr, "registered as %s\n", a.name.c_str());
  }
  if (!a.token_out.empty()) std::ofstream(a.token_out) << token << "\n";

  for (;;) {
    auto r = run_stream(a, *target, token, end);
    if (r && *r) return 3;
    if (!r) std::fprintf(stderr, "stream: %s\n", r.error().message.c_str());
    if (!a.reconnect || io::monotonic_now() >= end) return r ? 0 : 1;
    const Instant retry = io::monotonic_now() + std::chrono::milliseconds(200);
    while (io::monotonic_now() < retry) {
      auto p = io::Poller::create();
      std::array<io::Ready, 1> ready{};
      if (p) (void)p->wait(retry - io::monotonic_now(), ready);
    }
  }
}

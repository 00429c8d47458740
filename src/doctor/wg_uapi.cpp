#include "doctor/wg_uapi.hpp"

#include <charconv>

#include <fmt/format.h>

#include "io/uapi_client.hpp"

namespace tern::doctor {
namespace {

constexpr int kTimeoutMs = 3000;

std::optional<crypto::Key> parse_hex_key(std::string_view hex) {
  if (hex.size() != 64) return std::nullopt;
  crypto::Key k{};
  for (size_t i = 0; i < 32; ++i) {
    unsigned v = 0;
    auto r = std::from_chars(hex.data() + 2 * i, hex.data() + 2 * i + 2, v, 16);
    if (r.ec != std::errc() || r.ptr != hex.data() + 2 * i + 2) return std::nullopt;
    k[i] = static_cast<uint8_t>(v);
  }
  return k;
}

template <class T>
std::optional<T> parse_number(std::string_view s) {
  T v{};
  auto r = std::from_chars(s.data(), s.data() + s.size(), v);
  if (r.ec != std::errc() || r.ptr != s.data() + s.size()) return std::nullopt;
  return v;
}

}  // namespace

Result<uapi::DeviceSnapshot> parse_uapi_get(std::string_view reply) {
  uapi::DeviceSnapshot d;
  uapi::PeerSnapshot* peer = nullptr;
  size_t pos = 0;
  while (pos < reply.size()) {
    size_t end = reply.find('\n', pos);
    if (end == std::string_view::npos) end = reply.size();
    const std::string_view line = reply.substr(pos, end - pos);
    pos = end + 1;
    if (line.empty()) continue;
    const size_t eq = line.find('=');
    if (eq == std::string_view::npos) {
      return fail(fmt::format("UAPI reply line without '=': '{:.40}'", line));
    }
    const std::string_view key = line.substr(0, eq);
    const std::string_view value = line.substr(eq + 1);
    auto bad = [&] {
      return fail(fmt::format("UAPI reply: bad value for {}: '{:.80}'", key, value));
    };
    if (key == "errno") {
      auto e = parse_number<int>(value);
      if (!e) return bad();
      if (*e != 0) return fail(fmt::format("the UAPI server answered errno={}", *e));
      return d;
    }
    if (key == "public_key") {
      auto k = parse_hex_key(value);
      if (!k) return bad();
      d.peers.emplace_back();
      peer = &d.peers.back();
      peer->public_key = *k;
      continue;
    }
    if (!peer) {
      if (key == "listen_port") {
        auto v = parse_number<uint16_t>(value);
        if (!v) return bad();
        d.listen_port = *v;
      } else if (key == "fwmark") {
        auto v = parse_number<uint32_t>(value);
        if (!v) return bad();
        d.fwmark = *v;
      }
      continue;  // private_key is never kept; unknown device keys are skipped
    }
    if (key == "endpoint") {
      auto e = Endpoint::parse(value);
      if (!e) return bad();
      peer->endpoint = e;
    } else if (key == "last_handshake_time_sec") {
      auto v = parse_number<int64_t>(value);
      if (!v) return bad();
      peer->last_handshake_time_sec = *v;
    } else if (key == "last_handshake_time_nsec") {
      auto v = parse_number<int64_t>(value);
      if (!v) return bad();
      peer->last_handshake_time_nsec = *v;
    } else if (key == "tx_bytes") {
      auto v = parse_number<uint64_t>(value);
      if (!v) return bad();
      peer->tx_bytes = *v;
    } else if (key == "rx_bytes") {
      auto v = parse_number<uint64_t>(value);
      if (!v) return bad();
      peer->rx_bytes = *v;
    } else if (key == "persistent_keepalive_interval") {
      auto v = parse_number<uint16_t>(value);
      if (!v) return bad();
      peer->persistent_keepalive_interval = *v;
    } else if (key == "allowed_ip") {
      auto p = IpPrefix::parse(value);
      if (!p) return bad();
      peer->allowed_ips.push_back(*p);
    }
  }
  return fail("the UAPI reply ended without an errno line");
}

Result<uapi::DeviceSnapshot> query_uapi(const std::string& socket_path) {
  auto reply = io::uapi_exchange(socket_path, "get=1\n\n", kMaxUapiReply, kTimeoutMs);
  if (!reply) return fail(reply.error().message);
  auto d = parse_uapi_get(*reply);
  if (!d) return fail(socket_path + ": " + d.error().message);
  return d;
}

}  // namespace tern::doctor

#include "uapi/set.hpp"

#include <charconv>
#include <string>

#include "base/decimal.hpp"
#include "crypto/key_encoding.hpp"

namespace tern::uapi {
namespace {

bool is_zero(const crypto::Key& k) {
  uint8_t acc = 0;
  for (uint8_t b : k)
    acc |= b;
  return acc == 0;
}

// Values are never echoed for keys: the text may be a private key.
UapiResult<crypto::Key> hex_key(std::string_view name, std::string_view value) {
  auto key = crypto::key_from_hex(value);
  if (!key) return uapi_fail(EINVAL, std::string(name) + ": " + key.error().message);
  return *key;
}

UapiResult<void> must_be_true(std::string_view name, std::string_view value) {
  if (value != "true") {
    return uapi_fail(EINVAL,
                     std::string(name) + " must be 'true', not '" + std::string(value) + "'");
  }
  return {};
}

UapiResult<void> device_line(SetRequest& req, std::string_view key, std::string_view value) {
  if (key == "private_key") {
    auto k = hex_key(key, value);
    if (!k) return tl::unexpected(k.error());
    req.remove_private_key = is_zero(*k);
    req.private_key = req.remove_private_key ? std::nullopt : std::optional(*k);
  } else if (key == "listen_port") {
    auto port = parse_decimal(value, 65535);
    if (!port) return uapi_fail(EINVAL, "listen_port '" + std::string(value) + "' is not 0-65535");
    req.listen_port = static_cast<uint16_t>(*port);
  } else if (key == "fwmark") {
    auto mark = parse_decimal(value, UINT32_MAX);
    if (!mark)
      return uapi_fail(EINVAL, "fwmark '" + std::string(value) + "' is not a 32-bit number");
    req.fwmark = static_cast<uint32_t>(*mark);
  } else if (key == "replace_peers") {
    if (auto ok = must_be_true(key, value); !ok) return ok;
    req.replace_peers = true;
  } else {
    return uapi_fail(EINVAL, "unknown device key '" + std::string(key.substr(0, 32)) + "'");
  }
  return {};
}

UapiResult<void> peer_line(PeerChange& peer, std::string_view key, std::string_view value) {
  if (key == "remove") {
    if (auto ok = must_be_true(key, value); !ok) return ok;
    peer.remove = true;
  } else if (key == "update_only") {
    if (auto ok = must_be_true(key, value); !ok) return ok;
    peer.update_only = true;
  } else if (key == "replace_allowed_ips") {
    if (auto ok = must_be_true(key, value); !ok) return ok;
    peer.replace_allowed_ips = true;
  } else if (key == "preshared_key") {
    auto k = hex_key(key, value);
    if (!k) return tl::unexpected(k.error());
    peer.preshared_key = *k;
  } else if (key == "endpoint") {
    auto e = Endpoint::parse(value);
    if (!e) {
      return uapi_fail(EINVAL,
                       "endpoint '" + std::string(value) + "' is not IP:PORT or [IPv6]:PORT");
    }
    peer.endpoint = *e;
  } else if (key == "persistent_keepalive_interval") {
    auto secs = parse_decimal(value, 65535);
    if (!secs) {
      return uapi_fail(EINVAL,
                       "persistent_keepalive_interval '" + std::string(value) + "' is not 0-65535");
    }
    peer.persistent_keepalive = static_cast<uint16_t>(*secs);
  } else if (key == "allowed_ip") {
    const bool remove = !value.empty() && value.front() == '-';
    std::string_view text = remove ? value.substr(1) : value;
    // Unlike a config file, the protocol always carries the length.
    auto prefix = text.find('/') == std::string_view::npos ? std::nullopt : IpPrefix::parse(text);
    if (!prefix) {
      return uapi_fail(EINVAL, "allowed_ip '" + std::string(value) + "' is not ADDRESS/LENGTH");
    }
    (remove ? peer.removed_allowed_ips : peer.allowed_ips).push_back(*prefix);
  } else if (key == "protocol_version") {
    if (value != "1") {
      return uapi_fail(EINVAL, "protocol_version '" + std::string(value) + "' is not 1");
    }
  } else {
    return uapi_fail(EINVAL, "unknown peer key '" + std::string(key.substr(0, 32)) + "'");
  }
  return {};
}

}  // namespace

UapiResult<SetRequest> parse_set(std::string_view body) {
  SetRequest req;
  while (!body.empty()) {
    size_t nl = body.find('\n');
    std::string_view line = body.substr(0, nl);
    body.remove_prefix(nl == std::string_view::npos ? body.size() : nl + 1);
    if (line.empty()) break;  // the end of the operation, if the caller left it in
    size_t eq = line.find('=');
    if (eq == std::string_view::npos) {
      // Not echoed: it may be a key with its '=' missing.
      return uapi_fail(EPROTO, "a line has no '='; every line is key=value");
    }
    std::string_view key = line.substr(0, eq);
    std::string_view value = line.substr(eq + 1);
    if (key == "public_key") {
      auto k = hex_key(key, value);
      if (!k) return tl::unexpected(k.error());
      req.peers.push_back(PeerChange{});
      req.peers.back().public_key = *k;
      continue;
    }
    auto ok =
        req.peers.empty() ? device_line(req, key, value) : peer_line(req.peers.back(), key, value);
    if (!ok) return tl::unexpected(ok.error());
  }
  return req;
}

}  // namespace tern::uapi

#include "config/values.hpp"

#include <charconv>

#include "base/decimal.hpp"
#include "config/config.hpp"
#include "crypto/key_encoding.hpp"

namespace tern::config::detail {
namespace {

char lower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

bool all_digits(std::string_view text) {
  if (text.empty()) return false;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

bool is_host_name(std::string_view host) {
  if (host.empty() || host.size() > 253) return false;
  for (char c : host) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '.' || c == '_';
    if (!ok) return false;
  }
  return true;
}

std::string quoted(std::string_view s) {
  return "'" + std::string(s) + "'";
}

}  // namespace

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front()))
    s.remove_prefix(1);
  while (!s.empty() && is_space(s.back()))
    s.remove_suffix(1);
  return s;
}

std::vector<std::string_view> split_list(std::string_view value) {
  std::vector<std::string_view> items;
  while (true) {
    size_t comma = value.find(',');
    items.push_back(trim(value.substr(0, comma)));
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
  return items;
}

Result<crypto::Key> parse_key(std::string_view name, std::string_view value,
                              std::string_view hint) {
  auto key = crypto::key_from_base64(value);
  if (!key) {
    return fail(std::string(name) + " is not a valid key: " + key.error().message + "; " +
                std::string(hint));
  }
  return *key;
}

Result<uint16_t> parse_listen_port(std::string_view value) {
  if (!all_digits(value)) {
    return fail("ListenPort " + quoted(value) +
                " is not a port number; write a number 1-65535, e.g. ListenPort = 51820");
  }
  auto port = parse_decimal(value, 65535);
  if (!port) {
    return fail("ListenPort " + std::string(value) +
                " is out of range; use 1-65535 (or leave ListenPort out for a random port)");
  }
  return static_cast<uint16_t>(*port);
}

Result<uint32_t> parse_mtu(std::string_view value) {
  if (!all_digits(value)) {
    return fail("MTU " + quoted(value) + " is not a number; write e.g. MTU = 1420");
  }
  auto mtu = parse_decimal(value, kMaxMtu);
  if (!mtu || *mtu < kMinMtu) {
    return fail("MTU " + std::string(value) + " is out of range; tern accepts " +
                std::to_string(kMinMtu) + "-" + std::to_string(kMaxMtu) +
                " (1420 suits most networks; leave MTU out to let tern choose)");
  }
  return static_cast<uint32_t>(*mtu);
}

Result<uint16_t> parse_keepalive(std::string_view value) {
  if (iequals(value, "off")) return uint16_t{0};
  auto seconds = parse_decimal(value, 65535);
  if (!seconds) {
    return fail("PersistentKeepalive " + quoted(value) +
                " is neither 'off' nor a number of seconds 0-65535; write e.g. "
                "PersistentKeepalive = 25");
  }
  return static_cast<uint16_t>(*seconds);
}

Result<bool> parse_switch(std::string_view name, std::string_view value) {
  for (auto on : {"on", "true", "yes"}) {
    if (iequals(value, on)) return true;
  }
  for (auto off : {"off", "false", "no"}) {
    if (iequals(value, off)) return false;
  }
  return fail(std::string(name) + " " + quoted(value) + " is not on or off; write " +
              std::string(name) + " = on or " + std::string(name) + " = off");
}

Result<std::string> parse_endpoint(std::string_view value) {
  const std::string how =
      "write HOST:PORT, e.g. 192.0.2.1:51820, [2001:db8::1]:51820 or "
      "vpn.example.com:51820";
  std::string_view host;
  std::string_view port;
  if (!value.empty() && value.front() == '[') {
    size_t close = value.find(']');
    if (close == std::string_view::npos) {
      return fail("Endpoint " + quoted(value) + " has no closing ']'; " + how);
    }
    host = value.substr(1, close - 1);
    if (close + 1 >= value.size() || value[close + 1] != ':') {
      return fail("Endpoint " + quoted(value) + " has no port after ']'; " + how);
    }
    port = value.substr(close + 2);
    auto addr = IpAddress::parse(host);
    if (!addr || !addr->is_v6()) {
      return fail("Endpoint " + quoted(value) + ": " + quoted(host) +
                  " inside brackets is not an IPv6 address; " + how);
    }
  } else {
    size_t colon = value.rfind(':');
    if (colon == std::string_view::npos) {
      return fail("Endpoint " + quoted(value) + " has no port; " + how);
    }
    host = value.substr(0, colon);
    port = value.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) {
      return fail("Endpoint " + quoted(value) +
                  " looks like an IPv6 address without brackets; write [ADDRESS]:PORT, e.g. "
                  "[2001:db8::1]:51820");
    }
    if (!is_host_name(host)) {
      return fail("Endpoint " + quoted(value) + ": " + quoted(host) +
                  " is not an IP address or host name; " + how);
    }
  }
  auto p = parse_decimal(port, 65535);
  if (!p || *p == 0) {
    return fail("Endpoint " + quoted(value) + " has port " + quoted(port) +
                "; a port is a number 1-65535, e.g. " +
                std::string(value.substr(0, value.size() - port.size())) + "51820");
  }
  return std::string(value);
}

Result<IpPrefix> parse_prefix(std::string_view name, std::string_view item,
                              std::string_view example) {
  if (item.empty()) {
    return fail(std::string(name) +
                " has an empty entry (a doubled or trailing comma?); separate prefixes with "
                "single commas, e.g. " +
                std::string(example));
  }
  auto prefix = IpPrefix::parse(item);
  if (!prefix) {
    return fail(std::string(name) + " " + quoted(item) +
                " is not an IP prefix; write it as ADDRESS/LENGTH, e.g. " + std::string(example));
  }
  return *prefix;
}

}  // namespace tern::config::detail

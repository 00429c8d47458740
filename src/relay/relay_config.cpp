#include "relay/relay_config.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <set>
#include <string_view>

#include "wire/stun_attributes.hpp"

namespace tern::relay {
namespace {

bool printable(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c > 0x20 && c < 0x7F; });
}

bool whole_seconds(Duration d) {
  return d.count() % 1'000'000'000 == 0;
}

}  // namespace

Status validate(const RelayConfig& c) {
  if (c.realm.empty() || c.realm.size() > 128 || !printable(c.realm)) {
    return fail(fmt::format(
        "relay realm \"{}\" is not usable: give 1-128 printable ASCII characters without spaces "
        "(clients derive their key from it, so use the same realm as in the credentials you hand "
        "out)",
        c.realm.substr(0, 128)));
  }
  if (c.users.empty() && c.shared_secrets.empty()) {
    return fail(
        "the relay has no credentials: configure at least one static user (name and password) "
        "or a shared secret for TURN REST credentials; an open relay would carry anyone's "
        "traffic");
  }
  std::set<std::string_view> names;
  for (const auto& u : c.users) {
    if (u.name.empty() || u.name.size() > wire::kStunMaxUsername || !printable(u.name)) {
      return fail(fmt::format(
          "relay user \"{}\": a user name is 1-{} printable ASCII characters without spaces",
          u.name.substr(0, 64), wire::kStunMaxUsername));
    }
    if (u.password.empty()) {
      return fail(fmt::format("relay user \"{}\" has an empty password: set one", u.name));
    }
    if (!names.insert(u.name).second) {
      return fail(fmt::format("relay user \"{}\" is configured twice: keep one entry", u.name));
    }
  }
  for (const auto& s : c.shared_secrets) {
    if (s.empty()) return fail("a relay shared secret is empty: remove it or set a value");
  }
  if (c.software.size() > 128 || !std::all_of(c.software.begin(), c.software.end(),
                                              [](char ch) { return ch >= 0x20 && ch < 0x7F; })) {
    return fail("relay software name must be at most 128 printable ASCII characters");
  }
  if (c.nonce_lifetime < std::chrono::seconds(30) || c.nonce_lifetime > std::chrono::hours(24)) {
    return fail(
        "relay nonce lifetime must be between 30 seconds and 24 hours (default 10 minutes)");
  }
  if (c.default_lifetime < std::chrono::seconds(60) || !whole_seconds(c.default_lifetime)) {
    return fail(
        "relay default allocation lifetime must be whole seconds, at least 60 (default 600)");
  }
  if (c.max_lifetime < c.default_lifetime || !whole_seconds(c.max_lifetime) ||
      c.max_lifetime > std::chrono::hours(24)) {
    return fail(
        "relay maximum allocation lifetime must be whole seconds, no less than the default "
        "lifetime and at most 24 hours (default 3600)");
  }
  if (c.max_allocations == 0) {
    return fail("relay max allocations is 0: nothing could be relayed; set at least 1");
  }
  if (c.max_permissions == 0 || c.max_channels == 0) {
    return fail("relay permissions and channels per allocation must be at least 1 (default 64)");
  }
  if (!c.rate_limit.unlimited() && c.rate_limit.burst <= Duration::zero()) {
    return fail("relay rate limit burst must be positive (default 1 second)");
  }
  if (!c.relay_ipv4 && !c.relay_ipv6) {
    return fail("the relay offers neither IPv4 nor IPv6 relayed addresses: enable one");
  }
  if (const auto& d = c.discovery) {
    if (d->primary.address.family() != d->alternate.address.family()) {
      return fail(fmt::format(
          "RFC 5780 addresses {} and {} are of different families: use two IPv4 or two IPv6 "
          "addresses",
          d->primary.to_string(), d->alternate.to_string()));
    }
    if (d->primary.address == d->alternate.address || d->primary.port == d->alternate.port) {
      return fail(fmt::format(
          "RFC 5780 addresses {} and {} must differ in both IP and port (behaviour discovery "
          "changes each independently)",
          d->primary.to_string(), d->alternate.to_string()));
    }
    if (d->primary.address.is_unspecified() || d->alternate.address.is_unspecified()) {
      return fail(
          "RFC 5780 addresses must be the server's real addresses, not a wildcard: clients "
          "are told them in OTHER-ADDRESS");
    }
  }
  return {};
}

}  // namespace tern::relay

// IP addresses, prefixes and UDP endpoints, IPv4 and IPv6 in one type.
// Pure values: parsing and formatting only, no sockets.
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace tern {

class IpAddress {
 public:
  enum class Family : uint8_t { kV4, kV6 };

  IpAddress() = default;  // 0.0.0.0
  static IpAddress v4(std::array<uint8_t, 4> b);
  static IpAddress v4(uint32_t host_order);
  static IpAddress v6(std::array<uint8_t, 16> b);
  // Accepts dotted quad or RFC 4291 text (no brackets, no zone).
  static std::optional<IpAddress> parse(std::string_view text);

  Family family() const { return family_; }
  bool is_v4() const { return family_ == Family::kV4; }
  bool is_v6() const { return family_ == Family::kV6; }
  // 4 bytes for IPv4, 16 for IPv6, network order.
  const uint8_t* data() const { return bytes_.data(); }
  size_t size() const { return is_v4() ? 4 : 16; }
  unsigned bits() const { return is_v4() ? 32 : 128; }
  uint32_t v4_host_order() const;
  // ::ffff:a.b.c.d becomes a.b.c.d; anything else is returned unchanged.
  IpAddress unmapped() const;
  bool is_unspecified() const;

  std::string to_string() const;

  auto operator<=>(const IpAddress&) const = default;

 private:
  Family family_ = Family::kV4;
  std::array<uint8_t, 16> bytes_{};
};

struct IpPrefix {
  IpAddress address;  // host bits are kept as written (wg-quick's Address= uses them)
  uint8_t length = 0;

  // "10.0.0.1/24", "fd00::/64"; without "/N" the full length is assumed.
  static std::optional<IpPrefix> parse(std::string_view text);
  // The prefix with host bits cleared.
  IpPrefix masked() const;
  bool contains(const IpAddress& a) const;
  std::string to_string() const;

  auto operator<=>(const IpPrefix&) const = default;
};

struct Endpoint {
  IpAddress address;
  uint16_t port = 0;

  // "192.0.2.1:51820" or "[2001:db8::1]:51820" (numeric only; names are resolved by the caller).
  static std::optional<Endpoint> parse(std::string_view text);
  std::string to_string() const;

  auto operator<=>(const Endpoint&) const = default;
};

}  // namespace tern

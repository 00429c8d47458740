// Overlay addresses. Peer number n (1, 2, ...) gets the n-th host address of the
// IPv4 prefix (default 100.64.0.0/10, RFC 6598) and the same n in the low 32 bits of
// the network's ULA /48 (RFC 4193, random global ID), so one UNIQUE index in the store
// keeps both families unique. Numbers grow; a freed one is reused only when the
// prefix is full, so a removed peer's address does not reach a new machine soon.
#pragma once

#include <cstdint>
#include <optional>
#include <span>

#include "base/ip.hpp"
#include "base/result.hpp"

namespace tern::control {

inline constexpr std::string_view kDefaultV4Prefix = "100.64.0.0/10";

struct AddressPlan {
  IpPrefix v4;
  IpPrefix v6;  // a /48 under fd00::/8
};

// Checks an IPv4 prefix for overlay use: /8 to /30, host bits clear.
[[nodiscard]] Result<IpPrefix> parse_v4_pool(std::string_view text);
// fdXX:XXXX:XXXX::/48 from five random bytes (the RFC 4193 global ID).
[[nodiscard]] IpPrefix ula48(std::span<const uint8_t, 5> global_id);

// Host numbers usable in the IPv4 prefix (the network and broadcast addresses excluded).
[[nodiscard]] uint32_t pool_capacity(const IpPrefix& v4);
[[nodiscard]] IpAddress v4_at(const IpPrefix& v4, uint32_t n);
[[nodiscard]] IpAddress v6_at(const IpPrefix& v6, uint32_t n);

// The number for the next peer: max_taken + 1 while it fits, else the lowest free number
// in `taken_sorted` (ascending); nullopt when the pool is full.
[[nodiscard]] std::optional<uint32_t> next_number(std::span<const uint32_t> taken_sorted,
                                                  uint32_t capacity);

}  // namespace tern::control

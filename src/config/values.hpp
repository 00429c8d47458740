// Parsers for the values of single config keys. Each error says what is wrong
// and how to write the value; the caller prefixes it with "file:line: ".
// Internal to config/.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/ip.hpp"
#include "base/result.hpp"
#include "config/config.hpp"
#include "crypto/key.hpp"

namespace tern::config::detail {

bool iequals(std::string_view a, std::string_view b);
std::string_view trim(std::string_view s);
// "a, b ,c" -> {"a", "b", "c"}; an empty item stays (and is an error to the caller).
std::vector<std::string_view> split_list(std::string_view value);

// `hint` says where a good key comes from, e.g. "`wg genkey` prints one".
[[nodiscard]] Result<crypto::Key> parse_key(std::string_view name, std::string_view value,
                                            std::string_view hint);
[[nodiscard]] Result<uint16_t> parse_listen_port(std::string_view value);
[[nodiscard]] Result<uint32_t> parse_mtu(std::string_view value);
[[nodiscard]] Result<uint16_t> parse_keepalive(std::string_view value);
[[nodiscard]] Result<bool> parse_switch(std::string_view name, std::string_view value);
// Table = auto | off | main | default | local | 1-4294967295 (decimal or 0x hex), as
// wg-quick hands it to `ip route ... table`.
[[nodiscard]] Result<RouteTable> parse_table(std::string_view value);
// FwMark = off | 0-4294967295, decimal or 0x hex, as `wg` reads it.
[[nodiscard]] Result<uint32_t> parse_fwmark(std::string_view value);
// Checks the shape ("host:port", "[v6]:port") and returns the text as written.
[[nodiscard]] Result<std::string> parse_endpoint(std::string_view value);
// One item of Address or AllowedIPs; `example` completes "e.g. ...".
[[nodiscard]] Result<IpPrefix> parse_prefix(std::string_view name, std::string_view item,
                                            std::string_view example);

// One key of [Control] (control_keys.cpp); errors say what the key takes.
[[nodiscard]] Status control_key(ControlConfig& control, std::string_view key,
                                 std::string_view value);

// One key of [Relay] (relay_keys.cpp), and the checks once the section is complete.
[[nodiscard]] Status relay_key(RelayConfig& relay, std::string_view key, std::string_view value);
[[nodiscard]] Status check_relay(const RelayConfig& relay);

}  // namespace tern::config::detail

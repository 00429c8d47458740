// rtnetlink dump replies as bytes (linux/rtnetlink.h, linux/if_addr.h, linux/fib_rules.h),
// read into the NetState `tern doctor routes` reasons about. No socket here: io/rtnl_dump.hpp
// moves the messages. Every message is nlmsghdr (16 bytes) | family header | attributes:
//   RTM_NEWLINK  ifinfomsg (16)    IFLA_IFNAME
//   RTM_NEWADDR  ifaddrmsg (8)     IFA_LOCAL, else IFA_ADDRESS
//   RTM_NEWROUTE rtmsg (12)        RTA_DST, RTA_OIF, RTA_GATEWAY, RTA_PRIORITY, RTA_TABLE,
//                                  RTA_MULTIPATH (rtnexthop list: the first hop's ifindex)
//   RTM_NEWRULE  fib_rule_hdr (12) FRA_PRIORITY, FRA_TABLE, FRA_FWMARK, FRA_FWMASK, FRA_SRC,
//                                  FRA_DST, FRA_IIFNAME, FRA_OIFNAME, FRA_GOTO,
//                                  FRA_SUPPRESS_PREFIXLEN, ...
// Integers are in host order, addresses in network order.
#pragma once

#include <cstdint>

#include "base/bytes.hpp"
#include "base/result.hpp"
#include "doctor/routes_types.hpp"

namespace tern::doctor {

namespace rtnl {
inline constexpr uint16_t kNewLink = 16;
inline constexpr uint16_t kGetLink = 18;
inline constexpr uint16_t kNewAddr = 20;
inline constexpr uint16_t kGetAddr = 22;
inline constexpr uint16_t kNewRoute = 24;
inline constexpr uint16_t kGetRoute = 26;
inline constexpr uint16_t kNewRule = 32;
inline constexpr uint16_t kGetRule = 34;
inline constexpr uint8_t kAfUnspec = 0;
inline constexpr uint8_t kAfInet = 2;
inline constexpr uint8_t kAfInet6 = 10;
}  // namespace rtnl

// Adds what one dump message (nlmsghdr included) says to `state`. Message types other than
// the four above, and families other than IPv4/IPv6, are skipped; a message that does not
// hold together fails, naming what is wrong.
[[nodiscard]] Status merge_rtnl_message(Bytes message, NetState& state);

}  // namespace tern::doctor

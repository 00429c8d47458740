// The kernel WireGuard's generic netlink interface, as bytes (include/uapi/linux/wireguard.h):
// the family lookup ("wireguard" through the generic netlink controller), the
// WG_CMD_GET_DEVICE dump request, and the reading of its reply messages into the same
// snapshot the UAPI gives. No socket here: io/genl.hpp moves the messages.
//
// A reply message: nlmsghdr | genlmsghdr (cmd, version 1) | device attributes:
//   WGDEVICE_A_IFINDEX u32, WGDEVICE_A_IFNAME string, WGDEVICE_A_PRIVATE_KEY / PUBLIC_KEY 32
//   bytes, WGDEVICE_A_LISTEN_PORT u16, WGDEVICE_A_FWMARK u32, WGDEVICE_A_PEERS nest of nests:
//     WGPEER_A_PUBLIC_KEY, WGPEER_A_PRESHARED_KEY, WGPEER_A_ENDPOINT (sockaddr_in/_in6),
//     WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL u16, WGPEER_A_LAST_HANDSHAKE_TIME
//     (__kernel_timespec), WGPEER_A_RX_BYTES / TX_BYTES u64, WGPEER_A_ALLOWEDIPS nest of
//     nests (WGALLOWEDIP_A_FAMILY u16, _IPADDR, _CIDR_MASK u8), WGPEER_A_PROTOCOL_VERSION u32
// Integers are in host order, as netlink has them. A device with many peers comes in several
// messages; the first peer of a message may continue the last peer of the one before.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/bytes.hpp"
#include "base/result.hpp"
#include "uapi/get.hpp"

namespace tern::doctor {

namespace wgnl {
inline constexpr char kFamilyName[] = "wireguard";
inline constexpr uint8_t kVersion = 1;
inline constexpr uint8_t kCmdGetDevice = 0;
enum DeviceAttr : uint16_t {
  kDeviceIfindex = 1,
  kDeviceIfname = 2,
  kDevicePrivateKey = 3,
  kDevicePublicKey = 4,
  kDeviceFlags = 5,
  kDeviceListenPort = 6,
  kDeviceFwmark = 7,
  kDevicePeers = 8,
};
enum PeerAttr : uint16_t {
  kPeerPublicKey = 1,
  kPeerPresharedKey = 2,
  kPeerFlags = 3,
  kPeerEndpoint = 4,
  kPeerKeepalive = 5,
  kPeerLastHandshake = 6,
  kPeerRxBytes = 7,
  kPeerTxBytes = 8,
  kPeerAllowedIps = 9,
  kPeerProtocolVersion = 10,
};
enum AllowedIpAttr : uint16_t { kAllowedFamily = 1, kAllowedAddress = 2, kAllowedCidr = 3 };
// The generic netlink controller (linux/genetlink.h).
inline constexpr uint16_t kCtrlId = 0x10;
inline constexpr uint8_t kCtrlCmdGetFamily = 3;
inline constexpr uint16_t kCtrlAttrFamilyId = 1;
inline constexpr uint16_t kCtrlAttrFamilyName = 2;
}  // namespace wgnl

struct WgNetlinkDevice {
  std::string ifname;
  uint32_t ifindex = 0;
  uapi::DeviceSnapshot device;
};

// CTRL_CMD_GETFAMILY for "wireguard".
[[nodiscard]] std::vector<uint8_t> build_family_request(uint32_t seq);
// CTRL_ATTR_FAMILY_ID from the controller's answer.
[[nodiscard]] std::optional<uint16_t> parse_family_id(Bytes message);
// WG_CMD_GET_DEVICE (NLM_F_DUMP) for the interface `ifname`.
[[nodiscard]] std::vector<uint8_t> build_get_device(uint16_t family, uint32_t seq,
                                                    std::string_view ifname);
// Adds one reply message (nlmsghdr included) to `device`. Fails, naming the attribute, on a
// message that does not hold together; attributes it does not know are skipped.
[[nodiscard]] Status merge_device_message(Bytes message, WgNetlinkDevice& device);

}  // namespace tern::doctor

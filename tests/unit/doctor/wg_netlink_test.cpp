// The WireGuard netlink codec against byte sequences written out by hand from the kernel's
// include/uapi/linux/wireguard.h, linux/netlink.h and linux/genetlink.h (this machine has no
// kernel WireGuard module to ask). Integers in netlink are host order: little-endian here.
#include "doctor/wg_netlink.hpp"

#include <gtest/gtest.h>

#include <cstring>

namespace tern::doctor {
namespace {

using Buf = std::vector<uint8_t>;

void le16(Buf& b, uint16_t v) {
  b.push_back(static_cast<uint8_t>(v));
  b.push_back(static_cast<uint8_t>(v >> 8));
}
void le32(Buf& b, uint32_t v) {
  for (int i = 0; i < 4; ++i)
    b.push_back(static_cast<uint8_t>(v >> (8 * i)));
}
void le64(Buf& b, uint64_t v) {
  for (int i = 0; i < 8; ++i)
    b.push_back(static_cast<uint8_t>(v >> (8 * i)));
}
// struct nlattr { __u16 nla_len; __u16 nla_type; } + value, padded to 4.
void attr(Buf& b, uint16_t type, const Buf& value) {
  le16(b, static_cast<uint16_t>(4 + value.size()));
  le16(b, type);
  b.insert(b.end(), value.begin(), value.end());
  while (b.size() % 4)
    b.push_back(0);
}
constexpr uint16_t kNested = 0x8000;  // NLA_F_NESTED, as the kernel's nla_nest_start sets it

// struct nlmsghdr (len, type, flags, seq, pid) + struct genlmsghdr (cmd, version, reserved).
Buf message(uint16_t type, const Buf& attrs) {
  Buf b;
  le32(b, static_cast<uint32_t>(16 + 4 + attrs.size()));
  le16(b, type);
  le16(b, 0x2);  // NLM_F_MULTI
  le32(b, 2);
  le32(b, 0);
  b.push_back(0);  // WG_CMD_GET_DEVICE
  b.push_back(1);  // WG_GENL_VERSION
  le16(b, 0);
  b.insert(b.end(), attrs.begin(), attrs.end());
  return b;
}

Buf key(uint8_t fill) {
  return Buf(32, fill);
}

Buf allowed_ip_v4(uint8_t a, uint8_t b, uint8_t c, uint8_t d, uint8_t cidr) {
  Buf family, nest;
  le16(family, 2);                 // AF_INET
  attr(nest, 1, family);           // WGALLOWEDIP_A_FAMILY
  attr(nest, 2, Buf{a, b, c, d});  // WGALLOWEDIP_A_IPADDR
  attr(nest, 3, Buf{cidr});        // WGALLOWEDIP_A_CIDR_MASK
  return nest;
}

Buf peer_v4(uint8_t key_fill, const std::vector<Buf>& allowed, bool full) {
  Buf p;
  attr(p, 1, key(key_fill));  // WGPEER_A_PUBLIC_KEY
  if (full) {
    attr(p, 2, key(0));  // WGPEER_A_PRESHARED_KEY: zeros, none
    // struct sockaddr_in: family (host order), port and address (network order), zero[8].
    Buf sin;
    le16(sin, 2);
    sin.push_back(0xCA);  // port 51820 = 0xCA6C
    sin.push_back(0x6C);
    for (uint8_t x : {198, 51, 100, 7})
      sin.push_back(x);
    sin.resize(16, 0);
    attr(p, 4, sin);  // WGPEER_A_ENDPOINT
    Buf ka;
    le16(ka, 25);
    attr(p, 5, ka);  // WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL
    Buf ts;          // struct __kernel_timespec { s64 tv_sec; s64 tv_nsec; }
    le64(ts, 1700000000);
    le64(ts, 123);
    attr(p, 6, ts);  // WGPEER_A_LAST_HANDSHAKE_TIME
    Buf rx, tx;
    le64(rx, 1000);
    le64(tx, 2000);
    attr(p, 7, rx);  // WGPEER_A_RX_BYTES
    attr(p, 8, tx);  // WGPEER_A_TX_BYTES
    Buf pv;
    le32(pv, 1);
    attr(p, 10, pv);  // WGPEER_A_PROTOCOL_VERSION
  }
  Buf ips;
  for (size_t i = 0; i < allowed.size(); ++i)
    attr(ips, static_cast<uint16_t>(i) | kNested, allowed[i]);
  attr(p, 9 | kNested, ips);  // WGPEER_A_ALLOWEDIPS
  return p;
}

Buf device_attrs(const std::vector<Buf>& peers) {
  Buf a, idx, port;
  le32(idx, 7);
  attr(a, 1, idx);                    // WGDEVICE_A_IFINDEX
  attr(a, 2, Buf{'w', 'g', '0', 0});  // WGDEVICE_A_IFNAME
  le16(port, 51820);
  attr(a, 6, port);  // WGDEVICE_A_LISTEN_PORT
  Buf list;
  for (size_t i = 0; i < peers.size(); ++i)
    attr(list, static_cast<uint16_t>(i) | kNested, peers[i]);
  attr(a, 8 | kNested, list);  // WGDEVICE_A_PEERS
  return a;
}

TEST(WgNetlink, ReadsADeviceWithAPeer) {
  const Buf m =
      message(0x1c, device_attrs({peer_v4(0xAB, {allowed_ip_v4(10, 9, 0, 2, 32)}, true)}));
  WgNetlinkDevice d;
  ASSERT_TRUE(merge_device_message(m, d));
  EXPECT_EQ(d.ifname, "wg0");
  EXPECT_EQ(d.ifindex, 7u);
  EXPECT_EQ(d.device.listen_port, 51820);
  ASSERT_EQ(d.device.peers.size(), 1u);
  const auto& p = d.device.peers[0];
  EXPECT_EQ(p.public_key[0], 0xAB);
  EXPECT_FALSE(p.preshared_key);
  ASSERT_TRUE(p.endpoint);
  EXPECT_EQ(p.endpoint->to_string(), "198.51.100.7:51820");
  EXPECT_EQ(p.persistent_keepalive_interval, 25);
  EXPECT_EQ(p.last_handshake_time_sec, 1700000000);
  EXPECT_EQ(p.last_handshake_time_nsec, 123);
  EXPECT_EQ(p.rx_bytes, 1000u);
  EXPECT_EQ(p.tx_bytes, 2000u);
  ASSERT_EQ(p.allowed_ips.size(), 1u);
  EXPECT_EQ(p.allowed_ips[0].to_string(), "10.9.0.2/32");
}

TEST(WgNetlink, APeerCutBetweenMessagesIsJoined) {
  WgNetlinkDevice d;
  ASSERT_TRUE(merge_device_message(
      message(0x1c, device_attrs({peer_v4(1, {allowed_ip_v4(10, 0, 0, 1, 32)}, true),
                                  peer_v4(2, {allowed_ip_v4(10, 0, 0, 2, 32)}, true)})),
      d));
  // The kernel's next message starts with the same peer: its key and more allowed IPs.
  ASSERT_TRUE(merge_device_message(
      message(0x1c, device_attrs({peer_v4(2, {allowed_ip_v4(10, 1, 0, 0, 16)}, false),
                                  peer_v4(3, {}, true)})),
      d));
  ASSERT_EQ(d.device.peers.size(), 3u);
  EXPECT_EQ(d.device.peers[1].allowed_ips.size(), 2u);
  EXPECT_EQ(d.device.peers[1].allowed_ips[1].to_string(), "10.1.0.0/16");
  EXPECT_EQ(d.device.peers[1].tx_bytes, 2000u);  // kept from the first part
}

TEST(WgNetlink, Ipv6EndpointAndAllowedIp) {
  Buf p;
  attr(p, 1, key(5));
  Buf sin6;  // struct sockaddr_in6: family, port, flowinfo, addr[16], scope_id
  le16(sin6, 10);
  sin6.push_back(0x00);
  sin6.push_back(0x35);
  le32(sin6, 0);
  for (int i = 0; i < 16; ++i)
    sin6.push_back(i == 0 ? 0x20 : i == 1 ? 0x01 : i == 15 ? 1 : 0);
  le32(sin6, 0);
  attr(p, 4, sin6);
  Buf fam, nest, ips;
  le16(fam, 10);
  attr(nest, 1, fam);
  attr(nest, 2, Buf(16, 0xfd));
  attr(nest, 3, Buf{128});
  attr(ips, kNested, nest);
  attr(p, 9 | kNested, ips);
  WgNetlinkDevice d;
  ASSERT_TRUE(merge_device_message(message(0x1c, device_attrs({p})), d));
  EXPECT_EQ(d.device.peers[0].endpoint->to_string(), "[2001::1]:53");
  EXPECT_EQ(d.device.peers[0].allowed_ips[0].length, 128);
}

TEST(WgNetlink, BrokenMessagesFailWithoutReadingPastTheEnd) {
  Buf good = message(0x1c, device_attrs({peer_v4(1, {allowed_ip_v4(10, 0, 0, 1, 32)}, true)}));
  for (size_t cut = 0; cut < good.size(); ++cut) {
    Buf b(good.begin(), good.begin() + static_cast<std::ptrdiff_t>(cut));
    // Keep nlmsg_len honest so the walk inside meets the cut.
    if (b.size() >= 4) {
      const auto len = static_cast<uint32_t>(b.size());
      std::memcpy(b.data(), &len, 4);
    }
    WgNetlinkDevice d;
    (void)merge_device_message(b, d);  // must not crash (ASan watches)
  }
  Buf bad_key = message(0x1c, device_attrs({[] {
                          Buf p;
                          attr(p, 1, Buf(31, 1));
                          return p;
                        }()}));
  WgNetlinkDevice d;
  auto s = merge_device_message(bad_key, d);
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().message.find("PUBLIC_KEY"), std::string::npos);
}

TEST(WgNetlink, RequestsAreWhatTheKernelExpects) {
  const auto f = build_family_request(9);
  // nlmsghdr: len, GENL_ID_CTRL, NLM_F_REQUEST|NLM_F_ACK, seq 9; genlmsghdr: CTRL_CMD_GETFAMILY.
  ASSERT_EQ(f.size(), 16u + 4u + 4u + 12u);  // "wireguard\0" padded to 12
  EXPECT_EQ(f[0], f.size());
  EXPECT_EQ(f[4], 0x10);
  EXPECT_EQ(f[6], 0x05);
  EXPECT_EQ(f[8], 9);
  EXPECT_EQ(f[16], 3);
  EXPECT_EQ(f[22], 2);  // CTRL_ATTR_FAMILY_NAME
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(&f[24])), "wireguard");
  const auto g = build_get_device(0x1c, 4, "wg0");
  EXPECT_EQ(g[4], 0x1c);
  EXPECT_EQ(g[6] | (g[7] << 8), 0x305);  // NLM_F_REQUEST | NLM_F_ACK | NLM_F_DUMP
  EXPECT_EQ(g[16], 0);                   // WG_CMD_GET_DEVICE
  EXPECT_EQ(g[17], 1);                   // WG_GENL_VERSION
  EXPECT_EQ(g[22], 2);                   // WGDEVICE_A_IFNAME
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(&g[24])), "wg0");
}

TEST(WgNetlink, FamilyIdFromTheControllersAnswer) {
  Buf a, id;
  attr(a, 2, Buf{'w', 'i', 'r', 'e', 'g', 'u', 'a', 'r', 'd', 0});
  le16(id, 0x1c);
  attr(a, 1, id);  // CTRL_ATTR_FAMILY_ID
  EXPECT_EQ(parse_family_id(message(0x10, a)), std::optional<uint16_t>(0x1c));
  EXPECT_FALSE(parse_family_id(Buf(10, 0)));
}

}  // namespace
}  // namespace tern::doctor

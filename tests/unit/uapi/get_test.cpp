#include "uapi/get.hpp"

#include <gtest/gtest.h>

#include "crypto/key_encoding.hpp"

namespace tern::uapi {
namespace {

crypto::Key hex(std::string_view h) {
  return crypto::key_from_hex(h).value();
}

TEST(UapiGet, EmptyDevice) {
  EXPECT_EQ(format_get(DeviceSnapshot{}), "errno=0\n\n");
}

// Line for line what wireguard-go (Debian 12's 0.0.20220316) answered for a
// device in this state; `wg show` and `wg showconf` (wireguard-tools
// 1.0.20210914) read this text back as the same device.
TEST(UapiGet, MatchesWireguardGo) {
  DeviceSnapshot d;
  d.private_key = hex("38677ba39e1f7db598941b6a904691f9b9a250c89d372d5615213f6a8811b841");
  d.listen_port = 51820;
  d.fwmark = 0x1234;

  PeerSnapshot a;
  a.public_key = hex("2fd7dc73d02c998867a8aad0fb7dea3a6495312ccb324470be1890a0b5669343");
  a.preshared_key = hex("b64d3b727578b8a43a553c520f00b81444d03994a402846447a800faa8929cc7");
  a.endpoint = Endpoint::parse("[2001:db8::1]:51821");
  a.set_last_handshake(WallTime{1'700'000'000'123'456'789});
  a.rx_bytes = 1000;
  a.tx_bytes = 2000;
  a.persistent_keepalive_interval = 25;
  a.allowed_ips = {IpPrefix::parse("10.0.0.0/24").value(), IpPrefix::parse("fd00::/64").value()};

  PeerSnapshot b;  // never connected: no endpoint, no handshake, no preshared key
  b.public_key = hex("efae2d140065bee568fe1f016b976fd634a79d01159a833389e5079ffb18520f");
  d.peers = {a, b};

  EXPECT_EQ(format_get(d),
            "private_key=38677ba39e1f7db598941b6a904691f9b9a250c89d372d5615213f6a8811b841\n"
            "listen_port=51820\n"
            "fwmark=4660\n"
            "public_key=2fd7dc73d02c998867a8aad0fb7dea3a6495312ccb324470be1890a0b5669343\n"
            "preshared_key=b64d3b727578b8a43a553c520f00b81444d03994a402846447a800faa8929cc7\n"
            "protocol_version=1\n"
            "endpoint=[2001:db8::1]:51821\n"
            "last_handshake_time_sec=1700000000\n"
            "last_handshake_time_nsec=123456789\n"
            "tx_bytes=2000\n"
            "rx_bytes=1000\n"
            "persistent_keepalive_interval=25\n"
            "allowed_ip=10.0.0.0/24\n"
            "allowed_ip=fd00::/64\n"
            "public_key=efae2d140065bee568fe1f016b976fd634a79d01159a833389e5079ffb18520f\n"
            "preshared_key=0000000000000000000000000000000000000000000000000000000000000000\n"
            "protocol_version=1\n"
            "last_handshake_time_sec=0\n"
            "last_handshake_time_nsec=0\n"
            "tx_bytes=0\n"
            "rx_bytes=0\n"
            "persistent_keepalive_interval=0\n"
            "errno=0\n\n");
}

TEST(UapiGet, ZeroPrivateKeyIsLeftOut) {
  DeviceSnapshot d;
  d.private_key = crypto::Key{};
  EXPECT_EQ(format_get(d), "errno=0\n\n");
}

TEST(UapiGet, Ipv4Endpoint) {
  DeviceSnapshot d;
  d.peers.emplace_back();
  d.peers[0].endpoint = Endpoint::parse("192.0.2.1:51820");
  EXPECT_NE(format_get(d).find("\nendpoint=192.0.2.1:51820\n"), std::string::npos);
}

}  // namespace
}  // namespace tern::uapi

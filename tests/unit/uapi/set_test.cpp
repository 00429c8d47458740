#include "uapi/set.hpp"

#include <gtest/gtest.h>

#include <string>

#include "crypto/key_encoding.hpp"

namespace tern::uapi {
namespace {

crypto::Key hex(std::string_view h) {
  return crypto::key_from_hex(h).value();
}
IpPrefix pfx(std::string_view text) {
  return IpPrefix::parse(text).value();
}
Endpoint ep(std::string_view text) {
  return Endpoint::parse(text).value();
}

constexpr char kPeer1[] = "2fd7dc73d02c998867a8aad0fb7dea3a6495312ccb324470be1890a0b5669343";
constexpr char kPeer2[] = "efae2d140065bee568fe1f016b976fd634a79d01159a833389e5079ffb18520f";
constexpr char kZero[] = "0000000000000000000000000000000000000000000000000000000000000000";

// Captured from wireguard-tools v1.0.20210914 talking to a test socket: what
// `wg set wg0 peer L9fc...k0M= allowed-ips 10.0.0.2/32 endpoint 192.0.2.1:51820
// persistent-keepalive 25` sends after "set=1\n", without the final empty line.
constexpr char kWgSetTranscript[] =
    "public_key=2fd7dc73d02c998867a8aad0fb7dea3a6495312ccb324470be1890a0b5669343\n"
    "endpoint=192.0.2.1:51820\n"
    "persistent_keepalive_interval=25\n"
    "replace_allowed_ips=true\n"
    "allowed_ip=10.0.0.2/32\n";

TEST(UapiSet, WgSetPeer) {
  auto req = parse_set(kWgSetTranscript);
  ASSERT_TRUE(req) << req.error().message;
  EXPECT_FALSE(req->private_key);
  EXPECT_FALSE(req->remove_private_key);
  EXPECT_FALSE(req->listen_port);
  EXPECT_FALSE(req->fwmark);
  EXPECT_FALSE(req->replace_peers);
  ASSERT_EQ(req->peers.size(), 1u);
  const PeerChange& p = req->peers[0];
  EXPECT_EQ(p.public_key, hex(kPeer1));
  EXPECT_FALSE(p.remove);
  EXPECT_FALSE(p.update_only);
  EXPECT_TRUE(p.replace_allowed_ips);
  EXPECT_FALSE(p.preshared_key);
  EXPECT_EQ(p.endpoint, ep("192.0.2.1:51820"));
  EXPECT_EQ(p.persistent_keepalive, 25);
  EXPECT_EQ(p.allowed_ips, std::vector<IpPrefix>{pfx("10.0.0.2/32")});
  EXPECT_TRUE(p.removed_allowed_ips.empty());
}

// `wg setconf wg0 file` for a file with a private key, ListenPort, FwMark = 0x1234
// and two peers (IPv6 endpoint, preshared key, keepalive off, three allowed IPs).
constexpr char kWgSetconfTranscript[] =
    "private_key=38677ba39e1f7db598941b6a904691f9b9a250c89d372d5615213f6a8811b841\n"
    "listen_port=51820\n"
    "fwmark=4660\n"
    "replace_peers=true\n"
    "public_key=2fd7dc73d02c998867a8aad0fb7dea3a6495312ccb324470be1890a0b5669343\n"
    "preshared_key=b64d3b727578b8a43a553c520f00b81444d03994a402846447a800faa8929cc7\n"
    "endpoint=[2001:db8::1]:51821\n"
    "persistent_keepalive_interval=0\n"
    "replace_allowed_ips=true\n"
    "allowed_ip=10.0.0.0/24\n"
    "allowed_ip=fd00::/64\n"
    "allowed_ip=192.168.1.7/32\n"
    "public_key=efae2d140065bee568fe1f016b976fd634a79d01159a833389e5079ffb18520f\n"
    "replace_allowed_ips=true\n";

TEST(UapiSet, WgSetconf) {
  auto req = parse_set(kWgSetconfTranscript);
  ASSERT_TRUE(req) << req.error().message;
  EXPECT_EQ(req->private_key,
            hex("38677ba39e1f7db598941b6a904691f9b9a250c89d372d5615213f6a8811b841"));
  EXPECT_EQ(req->listen_port, 51820);
  EXPECT_EQ(req->fwmark, 0x1234u);
  EXPECT_TRUE(req->replace_peers);
  ASSERT_EQ(req->peers.size(), 2u);
  const PeerChange& a = req->peers[0];
  EXPECT_EQ(a.public_key, hex(kPeer1));
  EXPECT_EQ(a.preshared_key,
            hex("b64d3b727578b8a43a553c520f00b81444d03994a402846447a800faa8929cc7"));
  EXPECT_EQ(a.endpoint, ep("[2001:db8::1]:51821"));
  EXPECT_EQ(a.persistent_keepalive, 0);
  EXPECT_TRUE(a.replace_allowed_ips);
  EXPECT_EQ(a.allowed_ips,
            (std::vector<IpPrefix>{pfx("10.0.0.0/24"), pfx("fd00::/64"), pfx("192.168.1.7/32")}));
  const PeerChange& b = req->peers[1];
  EXPECT_EQ(b.public_key, hex(kPeer2));
  EXPECT_TRUE(b.replace_allowed_ips);
  EXPECT_TRUE(b.allowed_ips.empty());
  EXPECT_FALSE(b.endpoint);
  EXPECT_FALSE(b.persistent_keepalive);
}

TEST(UapiSet, WgSetPeerRemove) {
  auto req = parse_set(std::string("public_key=") + kPeer2 + "\nremove=true\n");
  ASSERT_TRUE(req) << req.error().message;
  ASSERT_EQ(req->peers.size(), 1u);
  EXPECT_TRUE(req->peers[0].remove);
}

// `wg set wg0 listen-port 0 fwmark off private-key /dev/null peer P preshared-key /dev/null`
TEST(UapiSet, ZeroKeysClear) {
  auto req = parse_set(std::string("private_key=") + kZero +
                       "\nlisten_port=0\nfwmark=0\npublic_key=" + kPeer1 +
                       "\npreshared_key=" + kZero + "\n");
  ASSERT_TRUE(req) << req.error().message;
  EXPECT_FALSE(req->private_key);
  EXPECT_TRUE(req->remove_private_key);
  EXPECT_EQ(req->listen_port, 0);
  EXPECT_EQ(req->fwmark, 0u);
  ASSERT_EQ(req->peers.size(), 1u);
  EXPECT_EQ(req->peers[0].preshared_key, crypto::Key{});
}

TEST(UapiSet, AllTheRestOfThePeerKeys) {
  auto req = parse_set(std::string("public_key=") + kPeer1 +
                       "\nupdate_only=true\nprotocol_version=1\nallowed_ip=-10.0.0.0/8\n"
                       "allowed_ip=10.1.0.0/16\n");
  ASSERT_TRUE(req) << req.error().message;
  const PeerChange& p = req->peers[0];
  EXPECT_TRUE(p.update_only);
  EXPECT_EQ(p.allowed_ips, std::vector<IpPrefix>{pfx("10.1.0.0/16")});
  EXPECT_EQ(p.removed_allowed_ips, std::vector<IpPrefix>{pfx("10.0.0.0/8")});
}

TEST(UapiSet, EmptyBodyChangesNothing) {
  auto req = parse_set("");
  ASSERT_TRUE(req);
  EXPECT_TRUE(req->peers.empty());
  EXPECT_FALSE(req->listen_port);
}

TEST(UapiSet, StopsAtTheEmptyLine) {
  auto req = parse_set("listen_port=1\n\nlisten_port=2\n");
  ASSERT_TRUE(req);
  EXPECT_EQ(req->listen_port, 1);
}

// The errno values wireguard-go answered for the same lines (EPROTO for a line
// without '=', EINVAL for everything else).
TEST(UapiSet, ErrorsCarryWireguardGoErrno) {
  const std::string peer = std::string("public_key=") + kPeer1 + "\n";
  const std::pair<std::string, int> cases[] = {
      {"listen_port\n", EPROTO},
      {peer + "endpoint\n", EPROTO},
      {"listen_port=65536\n", EINVAL},
      {"listen_port=-1\n", EINVAL},
      {"listen_port= 1\n", EINVAL},
      {"listen_port=\n", EINVAL},
      {"fwmark=4294967296\n", EINVAL},
      {"fwmark=0x10\n", EINVAL},
      {"replace_peers=false\n", EINVAL},
      {"private_key=abcd\n", EINVAL},
      {"public_key=" + std::string(kPeer1).substr(1) + "g\n", EINVAL},
      {"bogus=1\n", EINVAL},               // unknown device key
      {"protocol_version=1\n", EINVAL},    // a peer key before any peer
      {peer + "listen_port=1\n", EINVAL},  // a device key after a peer
      {peer + "bogus=1\n", EINVAL},
      {peer + "protocol_version=2\n", EINVAL},
      {peer + "remove=yes\n", EINVAL},
      {peer + "update_only=1\n", EINVAL},
      {peer + "replace_allowed_ips=TRUE\n", EINVAL},
      {peer + "preshared_key=" + std::string(63, '0') + "\n", EINVAL},
      {peer + "endpoint=192.0.2.1\n", EINVAL},
      {peer + "endpoint=vpn.example.com:51820\n", EINVAL},  // names are resolved by wg
      {peer + "endpoint=2001:db8::1:51820\n", EINVAL},
      {peer + "persistent_keepalive_interval=65536\n", EINVAL},
      {peer + "allowed_ip=10.0.0.1\n", EINVAL},  // the protocol always has a length
      {peer + "allowed_ip=10.0.0.0/33\n", EINVAL},
      {peer + "allowed_ip=--10.0.0.0/8\n", EINVAL},
  };
  for (const auto& [body, expected] : cases) {
    auto req = parse_set(body);
    ASSERT_FALSE(req) << body;
    EXPECT_EQ(req.error().errno_value, expected) << body << ": " << req.error().message;
    EXPECT_FALSE(req.error().message.empty());
  }
}

TEST(UapiSet, ErrorsDoNotEchoPrivateKeys) {
  std::string secret = "38677ba39e1f7db598941b6a904691f9b9a250c89d372d5615213f6a8811b84";
  for (std::string body : {"private_key=" + secret + "\n", "private_key" + secret + "1\n"}) {
    auto req = parse_set(body);
    ASSERT_FALSE(req);
    EXPECT_EQ(req.error().message.find(secret.substr(0, 16)), std::string::npos)
        << req.error().message;
  }
}

TEST(UapiSet, FormatErrnoIsNegatedAsWgExpects) {
  EXPECT_EQ(format_errno(0), "errno=0\n\n");
  EXPECT_EQ(format_errno(EINVAL), "errno=-22\n\n");
  EXPECT_EQ(format_errno(EPROTO), "errno=-71\n\n");
}

}  // namespace
}  // namespace tern::uapi

#include "config/config.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "crypto/key_encoding.hpp"

namespace tern::config {
namespace {

using ::testing::HasSubstr;

// Keys made with `wg genkey`, `wg pubkey` and `wg genpsk`; kOwnPublic is kPrivate's.
constexpr char kPrivate[] = "OGd7o54ffbWYlBtqkEaR+bmiUMidNy1WFSE/aogRuEE=";
constexpr char kOwnPublic[] = "L9fcc9AsmYhnqKrQ+33qOmSVMSzLMkRwvhiQoLVmk0M=";
constexpr char kPeerA[] = "764tFABlvuVo/h8Ba5dv1jSnnQEVmoMzieUHn/sYUg8=";
constexpr char kPeerB[] = "ZI2gPtHSVA0iRvm1JdFGlxIgN4lcfATHeqc571iLSkA=";
constexpr char kPsk[] = "tk07cnV4uKQ6VTxSDwC4FETQOZSkAoRkR6gA+qiSnMc=";

crypto::Key key(const char* b64) {
  return crypto::key_from_base64(b64).value();
}
IpPrefix pfx(std::string_view text) {
  return IpPrefix::parse(text).value();
}

// A file as wg-quick users write them: comments, odd spacing and case, every key.
const std::string kRealistic = std::string(R"(# wg0: office mesh
[Interface]
PrivateKey = )") + kPrivate + R"(
ListenPort = 51820
Address = 10.8.0.1/24, fd08::1/64
Address=10.9.0.1/32
MTU = 1380
DNS = 1.1.1.1, 1.0.0.1
PostUp = iptables -A FORWARD -i %i -j ACCEPT   # comment after a value
PostDown = iptables -D FORWARD -i %i -j ACCEPT
SaveConfig = false

[Peer]
# laptop
PublicKey = )" + kPeerA + R"(
PresharedKey = )" + kPsk + R"(
AllowedIPs = 10.8.0.2/32, fd08::2/128
allowedips = 192.168.50.0/24
Endpoint = [2001:db8::7]:51821
PersistentKeepalive = 25

  [ peer ]
	publickey	=	)" +
                               kPeerB + "\r\n" + R"(Endpoint = vpn.example.com:51820
AllowedIPs = 10.8.0.3/32
PersistentKeepalive = off
)";

TEST(Config, ParsesARealisticWgQuickFile) {
  auto cfg = parse_config(kRealistic, "wg0.conf");
  ASSERT_TRUE(cfg) << cfg.error().message;
  EXPECT_EQ(cfg->private_key, key(kPrivate));
  EXPECT_EQ(cfg->listen_port, 51820);
  EXPECT_EQ(cfg->addresses,
            (std::vector<IpPrefix>{pfx("10.8.0.1/24"), pfx("fd08::1/64"), pfx("10.9.0.1/32")}));
  EXPECT_EQ(cfg->mtu, 1380u);
  EXPECT_TRUE(cfg->path_mtu_discovery);
  EXPECT_TRUE(cfg->mss_clamp);
  ASSERT_EQ(cfg->peers.size(), 2u);

  const PeerConfig& a = cfg->peers[0];
  EXPECT_EQ(a.public_key, key(kPeerA));
  EXPECT_EQ(a.preshared_key, key(kPsk));
  EXPECT_EQ(a.endpoint, "[2001:db8::7]:51821");
  EXPECT_EQ(a.allowed_ips, (std::vector<IpPrefix>{pfx("10.8.0.2/32"), pfx("fd08::2/128"),
                                                  pfx("192.168.50.0/24")}));
  EXPECT_EQ(a.persistent_keepalive, 25);
  EXPECT_EQ(a.line, 13);

  const PeerConfig& b = cfg->peers[1];
  EXPECT_EQ(b.public_key, key(kPeerB));
  EXPECT_FALSE(b.preshared_key);
  EXPECT_EQ(b.endpoint, "vpn.example.com:51820");
  EXPECT_EQ(b.allowed_ips, std::vector<IpPrefix>{pfx("10.8.0.3/32")});
  EXPECT_EQ(b.persistent_keepalive, 0);
  EXPECT_EQ(b.line, 22);

  EXPECT_EQ(cfg->warnings,
            (std::vector<std::string>{
                "line 8: DNS is not applied by tern; set it in your resolver",
                "line 9: PostUp is not applied by tern; run the command from your service manager "
                "after `tern up`",
                "line 10: PostDown is not applied by tern; run the command from your service "
                "manager after stopping tern",
                "line 11: SaveConfig is not applied by tern; tern never writes the config file",
            }));
}

TEST(Config, TernOwnKeys) {
  auto cfg = parse_config(std::string("[Interface]\nPrivateKey = ") + kPrivate +
                              "\nPathMtuDiscovery = off\nmssclamp = OFF\n",
                          "t.conf");
  ASSERT_TRUE(cfg) << cfg.error().message;
  EXPECT_FALSE(cfg->path_mtu_discovery);
  EXPECT_FALSE(cfg->mss_clamp);
  EXPECT_FALSE(cfg->listen_port);
  EXPECT_FALSE(cfg->mtu);
  EXPECT_TRUE(cfg->warnings.empty());
}

TEST(Config, EveryNotAppliedKeyIsAWarningNotAnError) {
  std::string text = std::string("[Interface]\nPrivateKey = ") + kPrivate + "\n";
  for (auto k : {"DNS = 1.1.1.1", "PreUp = true", "PostUp = true", "PreDown = true",
                 "PostDown = true", "SaveConfig = true"}) {
    text += std::string(k) + "\n";
  }
  auto cfg = parse_config(text, "wg0.conf");
  ASSERT_TRUE(cfg) << cfg.error().message;
  ASSERT_EQ(cfg->warnings.size(), 6u);
  EXPECT_EQ(cfg->warnings[1],
            "line 4: PreUp is not applied by tern; run the command from your service manager "
            "before `tern up`");
}

TEST(Config, PeerWithTheInterfaceOwnKeyIsSkipped) {
  auto cfg = parse_config(std::string("[Interface]\nPrivateKey = ") + kPrivate +
                              "\n[Peer]\nPublicKey = " + kOwnPublic +
                              "\nAllowedIPs = 10.0.0.1/32\n[Peer]\nPublicKey = " + kPeerA + "\n",
                          "mesh.conf");
  ASSERT_TRUE(cfg) << cfg.error().message;
  ASSERT_EQ(cfg->peers.size(), 1u);
  EXPECT_EQ(cfg->peers[0].public_key, key(kPeerA));
  EXPECT_THAT(cfg->warnings,
              ::testing::ElementsAre(
                  "line 3: this [Peer] has the interface's own public key; it is skipped"));
}

TEST(Config, WarnsAboutDoubtfulButValidInput) {
  auto cfg = parse_config(
      std::string("[Interface]\nPrivateKey = ") + kPrivate +
          "\nListenPort = 1\nListenPort = 2\nAddress = fd00::1/64\nMTU = 1000\n"
          "[Peer]\nPublicKey = " +
          kPeerA + "\nAllowedIPs = 10.0.0.7/24, 10.0.0.0/24\n[Peer]\nPublicKey = " + kPeerB +
          "\nAllowedIPs = 10.0.0.0/24\n",
      "w.conf");
  ASSERT_TRUE(cfg) << cfg.error().message;
  EXPECT_EQ(cfg->listen_port, 2);
  EXPECT_EQ(cfg->peers[0].allowed_ips, std::vector<IpPrefix>{pfx("10.0.0.0/24")});
  EXPECT_EQ(cfg->peers[1].allowed_ips, std::vector<IpPrefix>{pfx("10.0.0.0/24")});
  EXPECT_THAT(
      cfg->warnings,
      ::testing::ElementsAre(
          "line 4: ListenPort is set again (first on line 3); the value on this line wins",
          "line 9: AllowedIPs 10.0.0.7/24 has host bits set; it means 10.0.0.0/24",
          "line 12: AllowedIPs 10.0.0.0/24 is also on the [Peer] of line 7; a prefix routes to "
          "one peer, and WireGuard gives it to the last one: this one",
          "line 6: IPv6 needs an MTU of at least 1280; with MTU = 1000 the IPv6 addresses will "
          "not work"));
}

TEST(Config, ByteOrderMarkAndCrlfAreFine) {
  auto cfg = parse_config(std::string("\xEF\xBB\xBF[Interface]\r\nPrivateKey = ") + kPrivate +
                              "\r\nListenPort = 51820\r\n",
                          "win.conf");
  ASSERT_TRUE(cfg) << cfg.error().message;
  EXPECT_EQ(cfg->listen_port, 51820);
}

// Each error: the file, the line, what is wrong and how to fix it.
struct ErrorCase {
  std::string text;
  std::string message;
};

std::string iface(const std::string& extra = "") {
  return std::string("[Interface]\nPrivateKey = ") + kPrivate + "\n" + extra;
}
std::string with_peer(const std::string& peer_lines) {
  return iface() + "[Peer]\nPublicKey = " + kPeerA + "\n" + peer_lines;
}

TEST(Config, ErrorsNameFileLineAndFix) {
  const ErrorCase cases[] = {
      {"",
       "wg0.conf:1: there is no [Interface] section; a config starts with [Interface] and "
       "PrivateKey = <output of `wg genkey`>"},
      {"# only a comment\n\n[Peer]\nPublicKey = " + std::string(kPeerA) + "\n",
       "wg0.conf:1: there is no [Interface] section"},
      {"\n[Interface]\nListenPort = 1\n",
       "wg0.conf:2: [Interface] has no PrivateKey; add PrivateKey = <output of `wg genkey`>"},
      {"PrivateKey = " + std::string(kPrivate) + "\n[Interface]\n",
       "wg0.conf:1: PrivateKey is outside any section; put it under [Interface]"},
      {"AllowedIPs = 10.0.0.1/32\n",
       "wg0.conf:1: AllowedIPs is outside any section; put it under [Peer]"},
      {iface("Port = 5\n"),
       "wg0.conf:3: unknown key 'Port' in [Interface]; the keys of [Interface] are PrivateKey, "
       "ListenPort, Address, MTU, DNS, Table, FwMark, PreUp, PostUp, PreDown, PostDown, "
       "SaveConfig, PathMtuDiscovery, MssClamp"},
      {iface("Endpoint = 192.0.2.1:1\n"),
       "wg0.conf:3: unknown key 'Endpoint' in [Interface] (Endpoint belongs in a [Peer] section)"},
      {with_peer("Keepalive = 25\n"),
       "wg0.conf:5: unknown key 'Keepalive' in [Peer]; the keys of [Peer] are PublicKey, "
       "PresharedKey, Endpoint, AllowedIPs, PersistentKeepalive"},
      {with_peer("MTU = 1400\n"),
       "wg0.conf:5: unknown key 'MTU' in [Peer] (MTU belongs in the [Interface] section)"},
      {iface("[Peer]\nPublicKey = " + std::string(kPeerA) + "\n[Peer]\nPublicKey = " + kPeerA +
             "\n"),
       "wg0.conf:6: PublicKey " + std::string(kPeerA) +
           " is already the key of the [Peer] on line 3; merge the two [Peer] sections"},
      {"[Interface]\nPrivateKey = abc\n",
       "wg0.conf:2: PrivateKey is not a valid key: a WireGuard key is 44 base64 characters "
       "ending in '='"},
      {"[Interface]\nPrivateKey = abc\n", "`wg genkey` prints a new one"},
      {with_peer("PresharedKey = " + std::string(kPsk).substr(1) + "\n"),
       "wg0.conf:5: PresharedKey is not a valid key"},
      {iface("[Peer]\nPublicKey = not-a-key=\n"),
       "wg0.conf:4: PublicKey is not a valid key: a WireGuard key is 44 base64 characters"},
      {iface("[Peer]\nAllowedIPs = 10.0.0.2/32\n[Peer]\nPublicKey = " + std::string(kPeerA) + "\n"),
       "wg0.conf:3: this [Peer] has no PublicKey; add PublicKey = <the peer's `wg pubkey` "
       "output>"},
      {iface("[Peer]\n"), "wg0.conf:3: this [Peer] has no PublicKey"},
      {iface("ListenPort = 65536\n"),
       "wg0.conf:3: ListenPort 65536 is out of range; use 1-65535 (or leave ListenPort out for "
       "a random port)"},
      {iface("ListenPort = -1\n"),
       "wg0.conf:3: ListenPort '-1' is not a port number; write a number 1-65535, e.g. "
       "ListenPort = 51820"},
      {iface("MTU = 500\n"),
       "wg0.conf:3: MTU 500 is out of range; tern accepts 576-65535 (1420 suits most networks; "
       "leave MTU out to let tern choose)"},
      {iface("MTU = 70000\n"), "wg0.conf:3: MTU 70000 is out of range; tern accepts 576-65535"},
      {iface("MTU = 1420 bytes\n"), "wg0.conf:3: MTU '1420 bytes' is not a number"},
      {with_peer("AllowedIPs = 10.0.0.2/32, 10.0.0.300/32\n"),
       "wg0.conf:5: AllowedIPs '10.0.0.300/32' is not an IP prefix; write it as ADDRESS/LENGTH, "
       "e.g. 10.0.0.2/32"},
      {with_peer("AllowedIPs = 10.0.0.0/33\n"), "wg0.conf:5: AllowedIPs '10.0.0.0/33' is not"},
      {with_peer("AllowedIPs = 10.0.0.2/32,\n"),
       "wg0.conf:5: AllowedIPs has an empty entry (a doubled or trailing comma?)"},
      {iface("Address = 10.0.0.1/24 10.0.0.2/24\n"),
       "wg0.conf:3: Address '10.0.0.1/24 10.0.0.2/24' is not an IP prefix; write it as "
       "ADDRESS/LENGTH, e.g. 10.0.0.1/24 or fd00::1/64"},
      {with_peer("PersistentKeepalive = 70000\n"),
       "wg0.conf:5: PersistentKeepalive '70000' is neither 'off' nor a number of seconds "
       "0-65535"},
      {with_peer("Endpoint = 192.0.2.1\n"),
       "wg0.conf:5: Endpoint '192.0.2.1' has no port; write HOST:PORT, e.g. 192.0.2.1:51820"},
      {with_peer("Endpoint = 2001:db8::1:51820\n"),
       "wg0.conf:5: Endpoint '2001:db8::1:51820' looks like an IPv6 address without brackets; "
       "write [ADDRESS]:PORT"},
      {with_peer("Endpoint = [2001:db8::1]\n"), "wg0.conf:5: Endpoint '[2001:db8::1]' has no port"},
      {with_peer("Endpoint = 192.0.2.1:0\n"),
       "wg0.conf:5: Endpoint '192.0.2.1:0' has port '0'; a port is a number 1-65535, e.g. "
       "192.0.2.1:51820"},
      {with_peer("Endpoint = bad host:51820\n"),
       "wg0.conf:5: Endpoint 'bad host:51820': 'bad host' is not an IP address or host name"},
      {with_peer("PublicKey = " + std::string(kPeerB) + "\n"),
       "wg0.conf:5: this [Peer] already has a PublicKey (line 4); start a new [Peer] section"},
      {iface("PathMtuDiscovery = maybe\n"),
       "wg0.conf:3: PathMtuDiscovery 'maybe' is not on or off"},
      {iface("ListenPort =\n"),
       "wg0.conf:3: ListenPort has no value; write ListenPort = VALUE, or remove the line"},
      {iface("this is not a config line\n"),
       "wg0.conf:3: this line is neither a [Section] header nor KEY = VALUE"},
      {iface("= 5\n"), "wg0.conf:3: this line is neither a [Section] header nor KEY = VALUE"},
      {iface("[Peer\n"), "wg0.conf:3: a section header ends with ']'"},
      {iface("[Peers]\n"),
       "wg0.conf:3: unknown section [Peers]; a config has [Interface], [Peer] and (tern's own) "
       "[Control] sections"},
  };
  for (const auto& c : cases) {
    auto cfg = parse_config(c.text, "wg0.conf");
    ASSERT_FALSE(cfg) << c.text;
    EXPECT_THAT(cfg.error().message, HasSubstr(c.message)) << c.text;
  }
}

TEST(Config, ErrorsNeverEchoAPrivateKey) {
  std::string bad = std::string(kPrivate).substr(0, 43) + "!";
  auto cfg = parse_config("[Interface]\nPrivateKey = " + bad + "\n", "wg0.conf");
  ASSERT_FALSE(cfg);
  EXPECT_THAT(cfg.error().message, ::testing::Not(HasSubstr(bad.substr(0, 20))));
  auto garbage = parse_config("[Interface]\nPrivateKey " + std::string(kPrivate) + "\n", "w");
  ASSERT_FALSE(garbage);
  EXPECT_THAT(garbage.error().message, ::testing::Not(HasSubstr(kPrivate)));
}

class LoadConfig : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/tern-config-test-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    std::remove((dir_ + "/wg0.conf").c_str());
    ::rmdir(dir_.c_str());
  }
  std::string write(const std::string& text, mode_t mode) {
    std::string path = dir_ + "/wg0.conf";
    std::ofstream(path) << text;
    ::chmod(path.c_str(), mode);
    return path;
  }
  std::string dir_;
};

TEST_F(LoadConfig, ReadsAFile) {
  std::string path = write(kRealistic, 0600);
  auto cfg = load_config(path);
  ASSERT_TRUE(cfg) << cfg.error().message;
  EXPECT_EQ(cfg->peers.size(), 2u);
  EXPECT_EQ(cfg->warnings.size(), 4u);
}

TEST_F(LoadConfig, ErrorsCarryThePath) {
  std::string path = write(iface("MTU = 1\n"), 0600);
  auto cfg = load_config(path);
  ASSERT_FALSE(cfg);
  EXPECT_THAT(cfg.error().message, HasSubstr(path + ":3: MTU 1 is out of range"));
}

TEST_F(LoadConfig, WarnsWhenAnyoneCanReadTheKey) {
  std::string path = write(iface(), 0644);
  auto cfg = load_config(path);
  ASSERT_TRUE(cfg) << cfg.error().message;
  EXPECT_THAT(cfg->warnings,
              ::testing::ElementsAre(path +
                                     " can be read by any user and holds a private key; "
                                     "run chmod 600 " +
                                     path));
}

TEST_F(LoadConfig, MissingFileAndDirectory) {
  auto missing = load_config(dir_ + "/nope.conf");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().message, "cannot read " + dir_ +
                                         "/nope.conf: No such file or directory; check the path "
                                         "given to `tern up --config`");
  auto directory = load_config(dir_);
  ASSERT_FALSE(directory);
  EXPECT_THAT(directory.error().message, HasSubstr("is a directory"));
}

}  // namespace
}  // namespace tern::config

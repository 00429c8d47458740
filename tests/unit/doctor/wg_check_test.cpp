#include "doctor/wg_check.hpp"

#include <gtest/gtest.h>

#include "doctor/wg_uapi.hpp"

namespace tern::doctor {
namespace {

using std::chrono::seconds;

constexpr int64_t kWall0 = 1'700'000'000'000'000'000;

// A peer sampled every second for `n` seconds; `step` changes it at second i.
template <class F>
WgCheckInput timeline(int n, F step) {
  WgCheckInput in;
  in.ifname = "wg0";
  in.source = "uapi";
  in.mtu = 1420;
  uapi::PeerSnapshot p;
  p.public_key[0] = 1;
  p.endpoint = Endpoint::parse("198.51.100.7:51820");
  p.allowed_ips.push_back(*IpPrefix::parse("10.9.0.2/32"));
  p.set_last_handshake(WallTime{kWall0 - 20'000'000'000});
  for (int i = 0; i <= n; ++i) {
    step(i, p);
    WgSample s;
    s.at = instant_from_ns(int64_t{i} * 1'000'000'000);
    s.wall = WallTime{kWall0 + int64_t{i} * 1'000'000'000};
    s.device.peers.push_back(p);
    in.samples.push_back(s);
  }
  return in;
}

std::vector<std::string> codes(const WgInterfaceReport& r) {
  std::vector<std::string> out;
  for (const auto& p : r.peers) {
    for (const auto& f : p.findings)
      out.push_back(f.code);
  }
  return out;
}

TEST(WgCheck, HealthyPeerHasNoFinding) {
  auto in = timeline(30, [](int i, uapi::PeerSnapshot& p) {
    p.persistent_keepalive_interval = 25;
    p.tx_bytes += 1000;
    p.rx_bytes += 900;
    if (i == 10) p.set_last_handshake(WallTime{kWall0 + 10'000'000'000});
  });
  in.pings[in.samples[0].device.peers[0].public_key] = {*IpAddress::parse("10.9.0.2"), 1420, ""};
  auto r = check_wg(in);
  EXPECT_TRUE(codes(r).empty());
  EXPECT_EQ(r.window, seconds(30));
  EXPECT_EQ(r.peers[0].tx_delta, 30000u);
}

TEST(WgCheck, IdlePeerWithOldSessionAndNoKeepaliveIsFine) {
  // WireGuard lets an idle session lapse: no traffic, no keepalive, no finding.
  auto in = timeline(30, [](int, uapi::PeerSnapshot& p) {
    p.set_last_handshake(WallTime{kWall0 - 3600'000'000'000});
  });
  EXPECT_TRUE(codes(check_wg(in)).empty());
}

TEST(WgCheck, KeepaliveOnlyTrafficIsNotOneWayLoss) {
  auto in = timeline(30, [](int i, uapi::PeerSnapshot& p) {
    p.persistent_keepalive_interval = 10;
    if (i % 10 == 0) p.tx_bytes += kKeepaliveBytes;
  });
  EXPECT_TRUE(codes(check_wg(in)).empty());
}

TEST(WgCheck, OneWayLoss) {
  auto in = timeline(30, [](int, uapi::PeerSnapshot& p) { p.tx_bytes += 1200; });
  EXPECT_EQ(codes(check_wg(in)), std::vector<std::string>{"one_way_loss"});
}

TEST(WgCheck, OneWayLossWithThePeersKeepalivesComingBack) {
  auto in = timeline(30, [](int i, uapi::PeerSnapshot& p) {
    p.tx_bytes += 400;
    if (i % 10 == 5) p.rx_bytes += kKeepaliveBytes;
  });
  EXPECT_EQ(codes(check_wg(in)), std::vector<std::string>{"one_way_loss"});
  // A reply stream, however thin, is not loss.
  auto replies = timeline(30, [](int, uapi::PeerSnapshot& p) {
    p.tx_bytes += 400;
    p.rx_bytes += 40;
  });
  EXPECT_TRUE(codes(check_wg(replies)).empty());
}

TEST(WgCheck, OneWayLossWithThePeersHandshakesComingBack) {
  // The peer hears nothing, so its session goes quiet and it initiates handshakes that are
  // answered but whose answers never reach it.
  auto in = timeline(10, [](int i, uapi::PeerSnapshot& p) {
    p.tx_bytes += 400;
    if (i == 3) p.rx_bytes += kInitiationBytes;
    if (i == 8) p.rx_bytes += kInitiationBytes + kKeepaliveBytes;
  });
  EXPECT_EQ(codes(check_wg(in)), std::vector<std::string>{"one_way_loss"});
  // Ping replies (128 bytes each) are data: not loss.
  auto replies = timeline(10, [](int, uapi::PeerSnapshot& p) {
    p.tx_bytes += 400;
    p.rx_bytes += 128;
  });
  EXPECT_TRUE(codes(check_wg(replies)).empty());
}

TEST(WgCheck, DeadSessionWhileSending) {
  auto in = timeline(30, [](int, uapi::PeerSnapshot& p) {
    p.set_last_handshake(WallTime{kWall0 - 400'000'000'000});
    p.tx_bytes += 148;
  });
  auto r = check_wg(in);
  EXPECT_EQ(codes(r), std::vector<std::string>{"handshake_stale"});
  EXPECT_GT(*r.peers[0].handshake_age, seconds(400));
}

TEST(WgCheck, NeverAHandshake) {
  auto in = timeline(30, [](int i, uapi::PeerSnapshot& p) {
    p.last_handshake_time_sec = 0;
    p.last_handshake_time_nsec = 0;
    if (i % 5 == 0) p.tx_bytes += 148;
  });
  EXPECT_EQ(codes(check_wg(in)), std::vector<std::string>{"handshake_failing"});
}

TEST(WgCheck, DirectRelayFlapping) {
  auto in = timeline(30, [](int i, uapi::PeerSnapshot& p) {
    p.tx_bytes += 100;
    p.rx_bytes += 100;
    p.endpoint = Endpoint::parse((i / 5) % 2 ? "127.0.0.1:40001" : "198.51.100.7:51820");
  });
  auto r = check_wg(in);
  EXPECT_EQ(codes(r), std::vector<std::string>{"endpoint_flapping"});
  EXPECT_EQ(r.peers[0].endpoint_changes, 6u);
  EXPECT_EQ(r.peers[0].endpoints.size(), 2u);
  EXPECT_NE(r.peers[0].findings[0].message.find("relayed and direct"), std::string::npos);
}

TEST(WgCheck, OneRoamIsNotFlapping) {
  auto in = timeline(30, [](int i, uapi::PeerSnapshot& p) {
    p.endpoint = Endpoint::parse(i < 15 ? "198.51.100.7:51820" : "203.0.113.9:4000");
  });
  auto r = check_wg(in);
  EXPECT_TRUE(codes(r).empty());
  EXPECT_EQ(r.peers[0].endpoint_changes, 1u);
}

TEST(WgCheck, KeepaliveAgainstNatLifetime) {
  auto in = timeline(5, [](int, uapi::PeerSnapshot& p) { p.persistent_keepalive_interval = 25; });
  in.nat_lifetime = seconds(15);
  auto r = check_wg(in);
  ASSERT_EQ(codes(r), std::vector<std::string>{"keepalive_exceeds_nat_lifetime"});
  EXPECT_EQ(
      r.peers[0].findings[0].message,
      "keepalive 25 s but this NAT forgets mappings after ~15 s: set PersistentKeepalive = 10");
  EXPECT_EQ(wg_to_json({r})[0]["nat_lifetime_s"], 15);
  auto good = timeline(5, [](int, uapi::PeerSnapshot& p) { p.persistent_keepalive_interval = 10; });
  good.nat_lifetime = seconds(15);
  EXPECT_TRUE(codes(check_wg(good)).empty());
}

TEST(WgCheck, TunnelBlackHole) {
  auto in = timeline(5, [](int, uapi::PeerSnapshot&) {});
  in.pings[in.samples[0].device.peers[0].public_key] = {*IpAddress::parse("10.9.0.2"), 1280, ""};
  auto r = check_wg(in);
  ASSERT_EQ(codes(r), std::vector<std::string>{"tunnel_mtu_black_hole"});
  EXPECT_NE(r.peers[0].findings[0].message.find("packets above 1280 bytes vanish"),
            std::string::npos);
  EXPECT_NE(r.peers[0].findings[0].message.find("set MTU 1280"), std::string::npos);
  auto j = wg_to_json({r});
  EXPECT_EQ(j[0]["peers"][0]["findings"][0]["code"], "tunnel_mtu_black_hole");
  EXPECT_EQ(j[0]["peers"][0]["df_ping"]["largest_answered"], 1280);
}

TEST(WgUapi, ParsesWireguardGosReply) {
  const std::string reply =
      "private_key=" + std::string(64, 'a') +
      "\nlisten_port=51820\npublic_key=" + std::string(62, '0') +
      "0f\npreshared_key=" + std::string(64, '0') +
      "\nprotocol_version=1\nendpoint=[2001:db8::1]:51820\nlast_handshake_time_sec=1700000000\n"
      "last_handshake_time_nsec=5\ntx_bytes=10\nrx_bytes=20\npersistent_keepalive_interval=25\n"
      "allowed_ip=10.9.0.2/32\nallowed_ip=fd00::2/128\nerrno=0\n\n";
  auto d = parse_uapi_get(reply);
  ASSERT_TRUE(d) << d.error().message;
  EXPECT_EQ(d->listen_port, 51820);
  ASSERT_EQ(d->peers.size(), 1u);
  EXPECT_EQ(d->peers[0].public_key[31], 0x0f);
  EXPECT_EQ(d->peers[0].endpoint->to_string(), "[2001:db8::1]:51820");
  EXPECT_EQ(d->peers[0].tx_bytes, 10u);
  EXPECT_EQ(d->peers[0].rx_bytes, 20u);
  EXPECT_EQ(d->peers[0].persistent_keepalive_interval, 25);
  EXPECT_EQ(d->peers[0].allowed_ips.size(), 2u);
  EXPECT_EQ(d->peers[0].last_handshake_time_sec, 1700000000);
}

TEST(WgUapi, RejectsWhatIsNotAReply) {
  EXPECT_FALSE(parse_uapi_get("errno=1\n\n"));
  EXPECT_FALSE(parse_uapi_get("listen_port=1\n"));  // no errno line
  EXPECT_FALSE(parse_uapi_get("garbage\nerrno=0\n\n"));
  EXPECT_FALSE(parse_uapi_get("public_key=xyz\nerrno=0\n\n"));
  EXPECT_FALSE(parse_uapi_get("public_key=" + std::string(64, '1') + "\ntx_bytes=-1\nerrno=0\n\n"));
  EXPECT_TRUE(parse_uapi_get("future_key=whatever\nerrno=0\n\n"));
}

}  // namespace
}  // namespace tern::doctor

// The path MTU part of `tern status`: JSON round trip, an older agent without it, the table.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "agent/status.hpp"

namespace tern::agent {
namespace {

InterfaceStatus sample() {
  InterfaceStatus s;
  s.name = "tern0";
  s.public_key = "key";
  s.mtu = 1500;
  PeerStatus p;
  p.public_key = "peer";
  p.mtu.known = true;
  p.mtu.path_mtu = 1280;
  p.mtu.overlay_mtu = 1220;
  p.mtu.pmtud_state = "search_complete";
  p.mtu.peer_runs_tern = true;
  p.mtu.announced_mtu = 1500;
  p.mtu.pings_sent = 12;
  p.mtu.pongs_received = 9;
  p.mtu.ptb_sent = 3;
  p.mtu.fragments_made = 4;
  p.mtu.mss_clamped = 5;
  s.peers.push_back(p);
  return s;
}

TEST(StatusMtu, JsonRoundTrip) {
  const nlohmann::json j = to_json(sample());
  const auto& pj = j.at("peers").at(0);
  EXPECT_EQ(pj.at("path_mtu"), 1280);
  EXPECT_EQ(pj.at("overlay_mtu"), 1220);
  EXPECT_EQ(pj.at("pmtud_state"), "search_complete");
  EXPECT_EQ(pj.at("peer_runs_tern"), true);
  EXPECT_EQ(pj.at("ptb_sent"), 3);
  EXPECT_EQ(pj.at("fragments_made"), 4);
  EXPECT_EQ(pj.at("mss_clamped"), 5);
  EXPECT_EQ(pj.at("probes").at("pongs_received"), 9);
  const auto back = status_from_json(j);
  ASSERT_EQ(back.peers.size(), 1u);
  const auto& m = back.peers[0].mtu;
  EXPECT_TRUE(m.known);
  EXPECT_EQ(m.path_mtu, 1280u);
  EXPECT_EQ(m.overlay_mtu, 1220u);
  EXPECT_EQ(m.peer_runs_tern, true);
  EXPECT_EQ(m.announced_mtu, 1500u);
  EXPECT_EQ(m.pings_sent, 12u);
  EXPECT_EQ(m.ptb_sent, 3u);
  EXPECT_EQ(m.fragments_made, 4u);
  EXPECT_EQ(m.mss_clamped, 5u);
}

TEST(StatusMtu, UnknownPathIsNull) {
  auto s = sample();
  s.peers[0].mtu.path_mtu.reset();
  s.peers[0].mtu.peer_runs_tern.reset();
  const nlohmann::json j = to_json(s);
  EXPECT_TRUE(j.at("peers").at(0).at("path_mtu").is_null());
  EXPECT_TRUE(j.at("peers").at(0).at("peer_runs_tern").is_null());
  const auto back = status_from_json(j);
  EXPECT_EQ(back.peers[0].mtu.path_mtu, std::nullopt);
  EXPECT_EQ(back.peers[0].mtu.peer_runs_tern, std::nullopt);
}

TEST(StatusMtu, OlderAgentWithoutMtuFields) {
  auto s = sample();
  s.peers[0].mtu = {};
  const nlohmann::json j = to_json(s);
  EXPECT_FALSE(j.at("peers").at(0).contains("overlay_mtu"));
  const auto back = status_from_json(j);
  EXPECT_FALSE(back.peers[0].mtu.known);
  EXPECT_EQ(format_status(back, WallTime{}).find("mtu:            "), std::string::npos);
}

TEST(StatusMtu, TableShowsPathOverlayAndCounters) {
  const std::string text = format_status(sample(), WallTime{});
  EXPECT_NE(text.find("path 1280 (search_complete, peer runs tern), overlay 1220"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("ptb_sent 3, fragments_made 4, mss_clamped 5"), std::string::npos) << text;
}

}  // namespace
}  // namespace tern::agent

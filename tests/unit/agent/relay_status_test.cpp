// The relay part of `tern status`: the allocation and relayed peers survive the JSON round trip
// that `tern status` makes, an agent without a relay reports none, and the table shows them.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "agent/status.hpp"

namespace tern::agent {
namespace {

InterfaceStatus with_relay() {
  InterfaceStatus s;
  s.name = "tern0";
  s.public_key = "key";
  PeerStatus p;
  p.public_key = "peer";
  p.endpoint = Endpoint::parse("203.0.113.2:51820");
  p.via_relay = true;
  s.peers.push_back(p);
  RelayStatus r;
  r.url = "turn:192.0.2.2:3478?transport=udp";
  r.server = "192.0.2.2:3478";
  r.state = "allocated";
  r.relayed = Endpoint::parse("192.0.2.2:49152");
  r.mapped = Endpoint::parse("198.51.100.2:40000");
  r.peers.push_back({*Endpoint::parse("203.0.113.2:51820"), 0x4000, true});
  s.relay = r;
  return s;
}

TEST(RelayStatus, JsonRoundTrip) {
  const nlohmann::json j = to_json(with_relay());
  EXPECT_EQ(j.at("relay").at("relayed_address"), "192.0.2.2:49152");
  EXPECT_EQ(j.at("relay").at("state"), "allocated");
  EXPECT_EQ(j.at("relay").at("peers").at(0).at("channel"), 0x4000);
  EXPECT_EQ(j.at("peers").at(0).at("via_relay"), true);

  const InterfaceStatus back = status_from_json(j);
  ASSERT_TRUE(back.relay);
  EXPECT_EQ(back.relay->url, "turn:192.0.2.2:3478?transport=udp");
  EXPECT_EQ(back.relay->relayed, Endpoint::parse("192.0.2.2:49152"));
  EXPECT_EQ(back.relay->mapped, Endpoint::parse("198.51.100.2:40000"));
  ASSERT_EQ(back.relay->peers.size(), 1u);
  EXPECT_EQ(back.relay->peers[0].channel, 0x4000);
  EXPECT_TRUE(back.relay->peers[0].permission);
  EXPECT_TRUE(back.peers.at(0).via_relay);
}

TEST(RelayStatus, NoneWithoutARelayAndWhileAllocating) {
  InterfaceStatus s = with_relay();
  s.relay.reset();
  s.peers[0].via_relay = false;
  nlohmann::json j = to_json(s);
  EXPECT_FALSE(j.contains("relay"));
  EXPECT_FALSE(status_from_json(j).relay);
  EXPECT_FALSE(status_from_json(j).peers.at(0).via_relay);

  s = with_relay();
  s.relay->state = "allocating";
  s.relay->relayed.reset();
  j = to_json(s);
  EXPECT_TRUE(j.at("relay").at("relayed_address").is_null());
  EXPECT_FALSE(status_from_json(j).relay->relayed);
}

TEST(RelayStatus, TableShowsTheAllocationAndRelayedPeers) {
  InterfaceStatus s = with_relay();
  s.relay->last_error = "401 Unauthorized: check Username and Password";
  const std::string out = format_status(s, WallTime{1'700'000'000'000'000'000});
  EXPECT_NE(out.find("relay:       turn:192.0.2.2:3478?transport=udp (192.0.2.2:3478, allocated)"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("relayed:     192.0.2.2:49152"), std::string::npos) << out;
  EXPECT_NE(out.find("relay error: 401 Unauthorized"), std::string::npos) << out;
  EXPECT_NE(out.find("endpoint:       203.0.113.2:51820 (through the relay)"), std::string::npos)
      << out;
}

}  // namespace
}  // namespace tern::agent

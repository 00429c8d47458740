// Device::endpoint and Device::has_peer, the allocation-free accessors the relay reads every
// loop turn: they must say what peer_info says, through configuration, handshakes, roaming
// and removal.
#include <gtest/gtest.h>

#include <random>
#include <set>

#include "device_fixture.hpp"

namespace tern::core::test {
namespace {

// The slow reference: peer_info, which copies the whole peer.
void expect_same_as_peer_info(const Device& d, PeerId id) {
  const auto info = d.peer_info(id);
  EXPECT_EQ(d.has_peer(id), info.has_value()) << "peer " << id;
  EXPECT_EQ(d.endpoint(id), info ? info->endpoint : std::nullopt) << "peer " << id;
}

TEST(DeviceEndpoint, ConfiguredLearnedAndRoamed) {
  DevicePair net;
  EXPECT_TRUE(net.a_.device.has_peer(net.pa_));
  EXPECT_EQ(net.a_.device.endpoint(net.pa_), kAddrB);  // configured
  EXPECT_TRUE(net.b_.device.has_peer(net.pb_));
  EXPECT_EQ(net.b_.device.endpoint(net.pb_), std::nullopt);  // nothing known yet
  net.connect();
  EXPECT_EQ(net.b_.device.endpoint(net.pb_), kAddrA);  // learned from the handshake

  const Endpoint moved = *Endpoint::parse("198.51.100.7:40000");
  net.a_.address = moved;
  net.send(net.a_, 100);
  net.run();
  EXPECT_EQ(net.b_.device.endpoint(net.pb_), moved);  // roamed with an authenticated packet
  expect_same_as_peer_info(net.a_.device, net.pa_);
  expect_same_as_peer_info(net.b_.device, net.pb_);
}

TEST(DeviceEndpoint, RemovedAndUnknownPeersHaveNone) {
  DevicePair net;
  net.a_.device.remove_peer(net.pa_);
  EXPECT_FALSE(net.a_.device.has_peer(net.pa_));
  EXPECT_EQ(net.a_.device.endpoint(net.pa_), std::nullopt);
  EXPECT_FALSE(net.a_.device.has_peer(net.pa_ + 1000));
  EXPECT_EQ(net.a_.device.endpoint(net.pa_ + 1000), std::nullopt);
  // Added again (a new id): no endpoint until one is set.
  const PeerId again = *net.a_.device.add_peer(net.b_.device.public_key());
  EXPECT_TRUE(net.a_.device.has_peer(again));
  EXPECT_EQ(net.a_.device.endpoint(again), std::nullopt);
  net.a_.device.set_endpoint(again, *Endpoint::parse("[2001:db8::5]:7"));
  EXPECT_EQ(net.a_.device.endpoint(again), *Endpoint::parse("[2001:db8::5]:7"));
}

TEST(DeviceEndpoint, MatchesPeerInfoOnRandomChanges) {
  Device d(crypto::generate_private_key());
  std::vector<crypto::Key> keys;
  for (int i = 0; i < 6; ++i)
    keys.push_back(crypto::public_key_from_private(crypto::generate_private_key()));
  std::set<PeerId> seen;
  std::mt19937 rng(4);
  for (int step = 0; step < 2000; ++step) {
    const crypto::Key& key = keys[rng() % keys.size()];
    const auto id = d.find_peer(key);
    switch (rng() % 4) {
      case 0:
        if (auto added = d.add_peer(key)) seen.insert(*added);
        break;
      case 1:
        if (id) d.remove_peer(*id);
        break;
      case 2:
        if (id) {
          const auto port = static_cast<uint16_t>(1 + rng() % 3);
          const auto addr = rng() % 2 ? "192.0.2." + std::to_string(rng() % 3 + 1)
                                      : "[2001:db8::" + std::to_string(rng() % 3 + 1) + "]";
          d.set_endpoint(*id, *Endpoint::parse(addr + ":" + std::to_string(port)));
        }
        break;
      default:
        if (id)
          d.add_allowed_ip(*id, *IpPrefix::parse("10.9." + std::to_string(step % 250) + ".0/24"));
        break;
    }
    for (PeerId p : seen)
      expect_same_as_peer_info(d, p);
  }
  EXPECT_GT(seen.size(), 6u);  // peers were removed and added again under new ids
}

}  // namespace
}  // namespace tern::core::test

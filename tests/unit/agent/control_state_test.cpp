// The agent's state directory: made private, the key kept across starts, the token only for
// the server that issued it, the map read back as written; and the status it reports.
#include "agent/control_state.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>

#include <nlohmann/json.hpp>

#include "agent/status.hpp"
#include "control/temp_dir.hpp"
#include "crypto/x25519.hpp"

namespace tern::agent {
namespace {

int mode_of(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? static_cast<int>(st.st_mode & 0777) : -1;
}

TEST(ControlState, KeepsKeyTokenAndMapForItsServer) {
  control::testing::TempDir tmp;
  const std::string dir = tmp.str() + "/state";
  const std::string url = "https://192.0.2.1:8443";
  auto first = load_control_state(dir, url);
  ASSERT_TRUE(first) << first.error().message;
  EXPECT_EQ(mode_of(dir), 0700);
  EXPECT_EQ(mode_of(dir + "/private.key"), 0600);
  EXPECT_TRUE(first->stream_token.empty());
  EXPECT_FALSE(first->map);

  first->stream_token = "tpt_secret";
  ASSERT_TRUE(save_registration(*first));
  control::NetworkMap map;
  map.revision = 7;
  map.self.public_key = crypto::public_key_from_private(first->private_key);
  map.self.ipv4 = *IpAddress::parse("100.64.0.9");
  map.self.ipv6 = *IpAddress::parse("fd00:1:2::9");
  map.v4 = *IpPrefix::parse("100.64.0.0/10");
  map.v6 = *IpPrefix::parse("fd00:1:2::/48");
  ASSERT_TRUE(save_map(dir, map));
  EXPECT_EQ(mode_of(dir + "/token"), 0600);
  EXPECT_EQ(mode_of(dir + "/map.json"), 0600);

  auto again = load_control_state(dir, url);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->private_key, first->private_key);
  EXPECT_EQ(again->stream_token, "tpt_secret");
  ASSERT_TRUE(again->map);
  EXPECT_EQ(*again->map, map);
  EXPECT_GT(again->map_saved_unix, 0);

  // Another server: same key, but neither its token nor its map.
  auto other = load_control_state(dir, "https://198.51.100.1:8443");
  ASSERT_TRUE(other);
  EXPECT_EQ(other->private_key, first->private_key);
  EXPECT_TRUE(other->stream_token.empty());
  EXPECT_FALSE(other->map);

  // A damaged map is dropped (the server sends a new one), not fatal.
  std::ofstream(dir + "/map.json") << "{\"type\":";
  auto damaged = load_control_state(dir, url);
  ASSERT_TRUE(damaged);
  EXPECT_FALSE(damaged->map);
  EXPECT_EQ(damaged->stream_token, "tpt_secret");

  forget_registration(dir);
  auto forgotten = load_control_state(dir, url);
  ASSERT_TRUE(forgotten);
  EXPECT_TRUE(forgotten->stream_token.empty());

  std::ofstream(dir + "/private.key") << "not a key\n";
  EXPECT_FALSE(load_control_state(dir, url));
}

TEST(ControlStatus, SurvivesTheStatusJson) {
  InterfaceStatus s;
  s.name = "tern0";
  s.public_key = "k";
  ControlStatus c;
  c.server = "https://192.0.2.1:8443";
  c.connection = "waiting";
  c.last_error = "connection refused";
  c.revision = 12;
  c.map_received_unix = 1'700'000'000;
  c.overlay_ipv4 = "100.64.0.2";
  c.overlay_ipv6 = "fd00:1:2::2";
  c.peers = 3;
  c.relays = {{"turn:192.0.2.9:3478", 1'700'086'400}};
  s.control = c;
  const auto back = status_from_json(to_json(s));
  ASSERT_TRUE(back.control);
  EXPECT_EQ(back.control->connection, "waiting");
  EXPECT_EQ(back.control->revision, 12);
  EXPECT_EQ(back.control->map_received_unix, 1'700'000'000);
  ASSERT_EQ(back.control->relays.size(), 1u);
  EXPECT_EQ(back.control->relays[0].expires_unix, 1'700'086'400);
  const std::string text = format_status(s, WallTime{1'700'000'030'000'000'000});
  EXPECT_NE(text.find("control:     https://192.0.2.1:8443 (waiting)"), std::string::npos) << text;
  EXPECT_NE(text.find("revision 12, 3 peer(s), received 30 s ago"), std::string::npos) << text;
  EXPECT_NE(text.find("last error:  connection refused"), std::string::npos) << text;
  EXPECT_NE(text.find("relay:       turn:192.0.2.9:3478 (credentials valid 23 h 59 min more)"),
            std::string::npos)
      << text;
  InterfaceStatus plain;  // an agent without --control says nothing about it
  EXPECT_FALSE(to_json(plain).contains("control"));
  EXPECT_FALSE(status_from_json(to_json(plain)).control);
}

}  // namespace
}  // namespace tern::agent

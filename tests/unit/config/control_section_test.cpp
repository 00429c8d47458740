// [Control]: joining a tern control network from a config file.
#include <gtest/gtest.h>

#include "config/config.hpp"

namespace tern::config {
namespace {

TEST(ControlSection, ReadsTheKeysAndNeedsNoPrivateKey) {
  auto c = parse_config(
      "[Interface]\nListenPort = 51900\nMTU = 1380\n\n[Control]\nServer = https://192.0.2.1:8443\n"
      "SetupKey = tsk_abc\nCA = /etc/tern/ca.pem\nState = /var/lib/tern/x\nName = laptop\n",
      "t.conf");
  ASSERT_TRUE(c) << c.error().message;
  ASSERT_TRUE(c->control);
  EXPECT_EQ(c->control->server, "https://192.0.2.1:8443");
  EXPECT_EQ(c->control->setup_key, "tsk_abc");
  EXPECT_EQ(c->control->ca_file, "/etc/tern/ca.pem");
  EXPECT_EQ(c->control->state_dir, "/var/lib/tern/x");
  EXPECT_EQ(c->control->name, "laptop");
  EXPECT_EQ(c->listen_port, 51900);
  EXPECT_EQ(c->mtu, 1380u);
  EXPECT_TRUE(c->peers.empty());
}

TEST(ControlSection, RefusesWhatCannotWork) {
  auto err = [](const char* text) {
    auto c = parse_config(text, "t.conf");
    return c ? std::string() : c.error().message;
  };
  EXPECT_NE(err("[Control]\nSetupKey = tsk_a\n[Interface]\n").find("no Server"), std::string::npos);
  EXPECT_NE(err("[Interface]\n[Control]\nServer = ftp://x\n").find("https://"), std::string::npos);
  EXPECT_NE(err("[Interface]\n[Control]\nServer = https://x\nSetupKey = abc\n").find("tsk_"),
            std::string::npos);
  EXPECT_NE(err("[Interface]\n[Control]\nServer = https://x\nColour = red\n").find("[Control]"),
            std::string::npos);
  EXPECT_NE(err("[Interface]\n[Control]\nServer = https://x\n[Control]\n").find("second"),
            std::string::npos);
  EXPECT_NE(err("[Interface]\n[Control]\nServer = https://x\n[Peer]\n"
                "PublicKey = 764tFABlvuVo/h8Ba5dv1jSnnQEVmoMzieUHn/sYUg8=\n")
                .find("remove the [Peer]"),
            std::string::npos);
  // Without [Control], PrivateKey is still required.
  EXPECT_NE(err("[Interface]\nListenPort = 1\n").find("no PrivateKey"), std::string::npos);
}

}  // namespace
}  // namespace tern::config

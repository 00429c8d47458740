// Table (wg-quick) and FwMark (wg): applied keys, read as wg-quick and wg read them.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "config/config.hpp"

namespace tern::config {
namespace {

using ::testing::HasSubstr;
using Mode = RouteTable::Mode;

constexpr char kPrivate[] = "OGd7o54ffbWYlBtqkEaR+bmiUMidNy1WFSE/aogRuEE=";

Result<InterfaceConfig> parse_with(const std::string& lines) {
  return parse_config(std::string("[Interface]\nPrivateKey = ") + kPrivate + "\n" + lines,
                      "wg0.conf");
}

TEST(RoutingKeys, DefaultsAreAutoAndUnmarked) {
  auto cfg = parse_with("");
  ASSERT_TRUE(cfg) << cfg.error().message;
  EXPECT_EQ(cfg->table, RouteTable{});
  EXPECT_EQ(cfg->table.mode, Mode::kAuto);
  EXPECT_EQ(cfg->fwmark, 0u);
}

TEST(RoutingKeys, TableValues) {
  const std::pair<const char*, RouteTable> cases[] = {
      {"auto", {Mode::kAuto, 0}},
      {"AUTO", {Mode::kAuto, 0}},
      {"off", {Mode::kOff, 0}},
      {"Off", {Mode::kOff, 0}},
      {"main", {Mode::kFixed, 254}},
      {"default", {Mode::kFixed, 253}},
      {"local", {Mode::kFixed, 255}},
      {"1234", {Mode::kFixed, 1234}},
      {"51820", {Mode::kFixed, 51820}},
      {"0x10", {Mode::kFixed, 16}},
      {"4294967295", {Mode::kFixed, 4294967295u}},
  };
  for (const auto& [text, want] : cases) {
    auto cfg = parse_with(std::string("Table = ") + text + "\n");
    ASSERT_TRUE(cfg) << text << ": " << cfg.error().message;
    EXPECT_EQ(cfg->table, want) << text;
    EXPECT_TRUE(cfg->warnings.empty()) << text << ": Table is applied, not a warning";
  }
}

TEST(RoutingKeys, FwMarkValuesAsWgReadsThem) {
  const std::pair<const char*, uint32_t> cases[] = {
      {"off", 0},
      {"OFF", 0},
      {"0", 0},
      {"51820", 51820},
      {"0xca6c", 0xca6c},
      {"0xFFFFFFFF", 0xffffffffu},
      {"4294967295", 0xffffffffu},
      {"010", 10},
  };
  for (const auto& [text, want] : cases) {
    auto cfg = parse_with(std::string("FwMark = ") + text + "\n");
    ASSERT_TRUE(cfg) << text << ": " << cfg.error().message;
    EXPECT_EQ(cfg->fwmark, want) << text;
    EXPECT_TRUE(cfg->warnings.empty()) << text;
  }
}

TEST(RoutingKeys, BadValuesNameTheLineAndTheFix) {
  const std::pair<const char*, const char*> cases[] = {
      {"Table = 0",
       "wg0.conf:3: Table '0' is not a routing table; write Table = auto (the default: the main "
       "table, and policy routing for 0.0.0.0/0 and ::/0), off (no routes), main, or a table "
       "number 1-4294967295"},
      {"Table = 4294967296", "wg0.conf:3: Table '4294967296' is not a routing table"},
      {"Table = vpn", "wg0.conf:3: Table 'vpn' is not a routing table"},
      {"Table = -5", "wg0.conf:3: Table '-5' is not a routing table"},
      {"Table = 0x", "wg0.conf:3: Table '0x' is not a routing table"},
      {"FwMark = 0x100000000",
       "wg0.conf:3: FwMark '0x100000000' is neither off nor a 32-bit number; write e.g. "
       "FwMark = 51820 or FwMark = 0xca6c"},
      {"FwMark = -1", "wg0.conf:3: FwMark '-1' is neither off nor a 32-bit number"},
      {"FwMark = +1", "wg0.conf:3: FwMark '+1' is neither off nor a 32-bit number"},
      {"FwMark = 0X10", "wg0.conf:3: FwMark '0X10' is neither off"},
      {"FwMark = 12 34", "wg0.conf:3: FwMark '12 34' is neither off"},
      {"Table =", "wg0.conf:3: Table has no value"},
  };
  for (const auto& [line, message] : cases) {
    auto cfg = parse_with(std::string(line) + "\n");
    ASSERT_FALSE(cfg) << line;
    EXPECT_THAT(cfg.error().message, HasSubstr(message)) << line;
  }
}

TEST(RoutingKeys, RepeatedKeyWarnsAndTheLastWins) {
  auto cfg = parse_with("table = 7\nfwmark = 1\nTable = off\nFwMark = 2\n");
  ASSERT_TRUE(cfg) << cfg.error().message;
  EXPECT_EQ(cfg->table.mode, Mode::kOff);
  EXPECT_EQ(cfg->fwmark, 2u);
  EXPECT_THAT(cfg->warnings,
              ::testing::ElementsAre(
                  "line 5: Table is set again (first on line 3); the value on this line wins",
                  "line 6: FwMark is set again (first on line 4); the value on this line wins"));
}

TEST(RoutingKeys, MisplacedInAPeerSection) {
  auto cfg = parse_with(
      "[Peer]\nPublicKey = 764tFABlvuVo/h8Ba5dv1jSnnQEVmoMzieUHn/sYUg8=\n"
      "FwMark = 1\n");
  ASSERT_FALSE(cfg);
  EXPECT_THAT(cfg.error().message,
              HasSubstr("wg0.conf:5: unknown key 'FwMark' in [Peer] (FwMark belongs in the "
                        "[Interface] section)"));
}

}  // namespace
}  // namespace tern::config

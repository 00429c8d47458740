// The Prometheus text: every series present from the start, values that follow
// the traffic, and the exposition format's syntax (HELP/TYPE before samples,
// one sample per line, label values quoted).
#include "relay/metrics.hpp"

#include <regex>
#include <set>
#include <sstream>

#include "relay_test_util.hpp"

namespace tern::relay::test {
namespace {

// The value of one sample line, or nullopt when there is none.
std::optional<uint64_t> sample(const std::string& text, const std::string& series) {
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(series + " ", 0) == 0) return std::stoull(line.substr(series.size() + 1));
  }
  return std::nullopt;
}

TEST(Metrics, EverySeriesExistsAtZero) {
  const auto text = render_prometheus(RelayCounters{});
  EXPECT_EQ(sample(text, "tern_relay_allocations"), 0u);
  EXPECT_EQ(sample(text, "tern_relay_allocations_total"), 0u);
  EXPECT_EQ(sample(text, "tern_relay_packets_total{direction=\"to_peer\"}"), 0u);
  EXPECT_EQ(sample(text, "tern_relay_bytes_total{direction=\"to_client\"}"), 0u);
  for (size_t i = 0; i < kRelayDropCount; ++i) {
    const std::string name(relay_drop_name(static_cast<RelayDrop>(i)));
    EXPECT_NE(name, "unknown");
    EXPECT_EQ(sample(text, "tern_relay_drops_total{reason=\"" + name + "\"}"), 0u) << name;
  }
  for (size_t i = 0; i < kRelayMethodCount; ++i) {
    const std::string name(relay_method_name(static_cast<RelayMethod>(i)));
    EXPECT_EQ(sample(text, "tern_relay_requests_total{method=\"" + name + "\"}"), 0u) << name;
  }
}

TEST(Metrics, DropNamesAreDistinct) {
  std::set<std::string_view> names;
  for (size_t i = 0; i < kRelayDropCount; ++i)
    EXPECT_TRUE(names.insert(relay_drop_name(static_cast<RelayDrop>(i))).second);
}

TEST(Metrics, ExpositionSyntax) {
  const auto text = render_prometheus(RelayCounters{});
  const std::regex help(R"(# HELP tern_relay_[a-z_]+ [^\n]+)");
  const std::regex type(R"(# TYPE tern_relay_[a-z_]+ (counter|gauge))");
  const std::regex line(R"(tern_relay_[a-z_]+(\{[a-z_]+="[a-z_]+"\})? [0-9]+)");
  std::istringstream in(text);
  std::string l, family;
  std::set<std::string> typed;
  while (std::getline(in, l)) {
    if (l.rfind("# HELP", 0) == 0) {
      EXPECT_TRUE(std::regex_match(l, help)) << l;
    } else if (l.rfind("# TYPE", 0) == 0) {
      EXPECT_TRUE(std::regex_match(l, type)) << l;
      std::istringstream words(l);
      std::string hash, kw, name;
      words >> hash >> kw >> name;
      EXPECT_TRUE(typed.insert(name).second) << "TYPE twice: " << name;
      family = name;
    } else {
      EXPECT_TRUE(std::regex_match(l, line)) << l;
      // Each sample belongs to the family declared last.
      EXPECT_EQ(l.substr(0, family.size()), family) << l;
    }
  }
  EXPECT_EQ(text.back(), '\n');
}

TEST(Metrics, FollowTheTraffic) {
  Fixture f;
  auto c = f.client();
  const auto relayed = c.allocate(at(0));  // one challenge, one allocation
  ASSERT_TRUE(c.channel_bind(0x4000, ep("192.0.2.200:1"), at(1))->is_success());
  ASSERT_TRUE(c.channel_data(0x4000, bytes_of("12345"), at(2)));
  ASSERT_TRUE(from_peer(*f.server, relayed, ep("192.0.2.200:1"), bytes_of("123"), at(2)));
  EXPECT_FALSE(c.channel_data(0x4001, bytes_of("x"), at(2)));
  EXPECT_EQ(c.create_permission({ep("127.0.0.1:1")}, at(3))->code(), 403);
  auto mallory = f.client("203.0.113.66:1", "mallory", "x");
  (void)mallory.request(
      StunMethod::kAllocate, [](StunBuilder& b) { b.add_requested_transport(); }, at(3));

  const auto text = f.server->metrics_text();
  EXPECT_EQ(sample(text, "tern_relay_allocations"), 1u);
  EXPECT_EQ(sample(text, "tern_relay_allocations_total"), 1u);
  EXPECT_EQ(sample(text, "tern_relay_challenges_total"), 2u);
  EXPECT_EQ(sample(text, "tern_relay_requests_total{method=\"allocate\"}"), 4u);
  EXPECT_EQ(sample(text, "tern_relay_requests_total{method=\"channel_bind\"}"), 1u);
  EXPECT_EQ(sample(text, "tern_relay_packets_total{direction=\"to_peer\"}"), 1u);
  EXPECT_EQ(sample(text, "tern_relay_bytes_total{direction=\"to_peer\"}"), 5u);
  EXPECT_EQ(sample(text, "tern_relay_packets_total{direction=\"to_client\"}"), 1u);
  EXPECT_EQ(sample(text, "tern_relay_bytes_total{direction=\"to_client\"}"), 3u);
  EXPECT_EQ(sample(text, "tern_relay_drops_total{reason=\"no_channel\"}"), 1u);
  EXPECT_EQ(sample(text, "tern_relay_drops_total{reason=\"forbidden_peer\"}"), 1u);
  EXPECT_EQ(sample(text, "tern_relay_drops_total{reason=\"auth_failed\"}"), 1u);
  EXPECT_EQ(sample(text, "tern_relay_drops_total{reason=\"quota\"}"), 0u);

  ASSERT_TRUE(c.refresh(0, at(4))->is_success());
  EXPECT_EQ(sample(f.server->metrics_text(), "tern_relay_allocations"), 0u);
  EXPECT_EQ(sample(f.server->metrics_text(), "tern_relay_allocations_total"), 1u);
}

}  // namespace
}  // namespace tern::relay::test

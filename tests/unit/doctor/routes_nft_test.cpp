#include <gtest/gtest.h>

#include "doctor/routes_nft.hpp"

namespace tern::doctor {
namespace {

// `nft -j list ruleset` (nftables 1.0.6) for:
//   table inet filter {
//     chain input { type filter hook input priority 0; policy accept;
//       ct state established accept
//       udp dport 51820 counter drop
//       udp dport { 53, 1000-2000 } reject
//       ip saddr 10.0.0.0/8 udp dport 51820 drop
//       jump mychain }
//     chain mychain { th dport 51821 counter packets 5 bytes 100 drop }
//     chain output { type filter hook output priority 0; udp dport 51820 drop } }
constexpr const char* kRuleset =
    R"({"nftables": [{"metainfo": {"version": "1.0.6", "release_name": "Lester Gooch #5", "json_schema_version": 1}}, {"table": {"family": "inet", "name": "filter", "handle": 1}}, {"chain": {"family": "inet", "table": "filter", "name": "input", "handle": 1, "type": "filter", "hook": "input", "prio": 0, "policy": "accept"}}, {"chain": {"family": "inet", "table": "filter", "name": "mychain", "handle": 2}}, {"chain": {"family": "inet", "table": "filter", "name": "output", "handle": 3, "type": "filter", "hook": "output", "prio": 0, "policy": "accept"}}, {"rule": {"family": "inet", "table": "filter", "chain": "input", "handle": 4, "expr": [{"match": {"op": "in", "left": {"ct": {"key": "state"}}, "right": "established"}}, {"accept": null}]}}, {"rule": {"family": "inet", "table": "filter", "chain": "input", "handle": 5, "expr": [{"match": {"op": "==", "left": {"payload": {"protocol": "udp", "field": "dport"}}, "right": 51820}}, {"counter": {"packets": 0, "bytes": 0}}, {"drop": null}]}}, {"rule": {"family": "inet", "table": "filter", "chain": "input", "handle": 7, "expr": [{"match": {"op": "==", "left": {"payload": {"protocol": "udp", "field": "dport"}}, "right": {"set": [53, {"range": [1000, 2000]}]}}}, {"reject": {"type": "icmpx", "expr": "port-unreachable"}}]}}, {"rule": {"family": "inet", "table": "filter", "chain": "input", "handle": 8, "expr": [{"match": {"op": "==", "left": {"payload": {"protocol": "ip", "field": "saddr"}}, "right": {"prefix": {"addr": "10.0.0.0", "len": 8}}}}, {"match": {"op": "==", "left": {"payload": {"protocol": "udp", "field": "dport"}}, "right": 51820}}, {"drop": null}]}}, {"rule": {"family": "inet", "table": "filter", "chain": "input", "handle": 9, "expr": [{"jump": {"target": "mychain"}}]}}, {"rule": {"family": "inet", "table": "filter", "chain": "mychain", "handle": 10, "expr": [{"match": {"op": "==", "left": {"payload": {"protocol": "th", "field": "dport"}}, "right": 51821}}, {"counter": {"packets": 5, "bytes": 100}}, {"drop": null}]}}, {"rule": {"family": "inet", "table": "filter", "chain": "output", "handle": 11, "expr": [{"match": {"op": "==", "left": {"payload": {"protocol": "udp", "field": "dport"}}, "right": 51820}}, {"drop": null}]}}]})";

std::vector<uint64_t> handles(const std::vector<NftPortRule>& rules) {
  std::vector<uint64_t> out;
  for (const auto& r : rules)
    out.push_back(r.handle.value_or(0));
  return out;
}

TEST(RoutesNft, FindsPortRulesOnTheWayInOnly) {
  auto rules = parse_nft_port_rules(kRuleset);
  ASSERT_TRUE(rules) << rules.error().message;
  // The output chain's rule (11) and the ct rule (4) are not port rules on the way in.
  EXPECT_EQ(handles(*rules), (std::vector<uint64_t>{5, 7, 8, 10}));
  EXPECT_EQ((*rules)[0].verdict, "drop");
  EXPECT_EQ((*rules)[0].packets, 0u);
  EXPECT_EQ((*rules)[1].verdict, "reject");
  EXPECT_FALSE((*rules)[1].packets);
  EXPECT_EQ((*rules)[2].conditions, std::vector<std::string>{"ip saddr"});
  EXPECT_EQ((*rules)[3].chain, "mychain");  // reached by a jump from input
  EXPECT_EQ((*rules)[3].packets, 5u);
  EXPECT_EQ((*rules)[0].describe(), "inet filter input (handle 5): udp dport 51820 drop");
  EXPECT_EQ((*rules)[1].describe(),
            "inet filter input (handle 7): udp dport { 53, 1000-2000 } reject");
}

TEST(RoutesNft, DropsForAPort) {
  auto rules = parse_nft_port_rules(kRuleset);
  ASSERT_TRUE(rules);
  EXPECT_EQ(handles(nft_drops_for_port(*rules, 51820)), (std::vector<uint64_t>{5, 8}));
  EXPECT_EQ(handles(nft_drops_for_port(*rules, 1500)), (std::vector<uint64_t>{7}));
  EXPECT_EQ(handles(nft_drops_for_port(*rules, 2000)), (std::vector<uint64_t>{7}));
  EXPECT_EQ(handles(nft_drops_for_port(*rules, 2001)), (std::vector<uint64_t>{}));
  EXPECT_EQ(handles(nft_drops_for_port(*rules, 51821)), (std::vector<uint64_t>{10}));
  EXPECT_TRUE(nft_drops_for_port(*rules, 51823).empty());
}

TEST(RoutesNft, AnAcceptBeforeTheDropWins) {
  const char* text = R"({"nftables": [
    {"chain": {"family": "ip", "table": "t", "name": "in", "hook": "input"}},
    {"rule": {"family": "ip", "table": "t", "chain": "in", "handle": 1, "expr": [
      {"match": {"op": "==", "left": {"payload": {"protocol": "udp", "field": "dport"}}, "right": 51820}},
      {"accept": null}]}},
    {"rule": {"family": "ip", "table": "t", "chain": "in", "handle": 2, "expr": [
      {"match": {"op": "==", "left": {"meta": {"key": "l4proto"}}, "right": "udp"}},
      {"drop": null}]}}]})";
  auto rules = parse_nft_port_rules(text);
  ASSERT_TRUE(rules);
  ASSERT_EQ(rules->size(), 2u);
  EXPECT_FALSE((*rules)[1].ports);  // all of UDP
  EXPECT_TRUE(nft_drops_for_port(*rules, 51820).empty());
  EXPECT_EQ(handles(nft_drops_for_port(*rules, 4000)), (std::vector<uint64_t>{2}));
}

TEST(RoutesNft, WhatCannotBeToldIsLeftAlone) {
  // A named set, a negation, a prerouting chain of another table.
  const char* text = R"({"nftables": [
    {"chain": {"family": "inet", "table": "t", "name": "pre", "hook": "prerouting"}},
    {"rule": {"family": "inet", "table": "t", "chain": "pre", "handle": 1, "expr": [
      {"match": {"op": "==", "left": {"payload": {"protocol": "udp", "field": "dport"}}, "right": "@ports"}},
      {"drop": null}]}},
    {"rule": {"family": "inet", "table": "t", "chain": "pre", "handle": 2, "expr": [
      {"match": {"op": "!=", "left": {"payload": {"protocol": "udp", "field": "dport"}}, "right": 22}},
      {"drop": null}]}},
    {"rule": {"family": "inet", "table": "t", "chain": "pre", "handle": 3, "expr": [
      {"match": {"op": "==", "left": {"payload": {"protocol": "udp", "field": "dport"}}, "right": {"range": [51000, 52000]}}},
      {"limit": {"rate": 10, "per": "second"}}, {"drop": null}]}}]})";
  auto rules = parse_nft_port_rules(text);
  ASSERT_TRUE(rules);
  ASSERT_EQ(handles(*rules), (std::vector<uint64_t>{3}));
  EXPECT_EQ((*rules)[0].conditions, std::vector<std::string>{"limit"});
}

TEST(RoutesNft, MalformedInputFailsOrIsSkipped) {
  for (const char* bad : {"", "nft: Operation not permitted", "[]", "{}", R"({"nftables": 3})",
                          "{\"nftables\": [", "null"}) {
    EXPECT_FALSE(parse_nft_port_rules(bad)) << bad;
  }
  // Well-formed JSON of the wrong shapes: nothing found, no crash.
  const char* odd = R"({"nftables": [1, "x", null, {"rule": 5}, {"chain": []},
    {"rule": {"family": 1, "expr": {"drop": null}}},
    {"rule": {"expr": [{"match": {"left": 5, "right": {"set": [70000]}}}, {"drop": 1}]}},
    {"rule": {"expr": [{"match": {"left": {"payload": {"protocol": "udp", "field": "dport"}},
                                  "right": {"range": [9, 1]}}}, {"drop": null}]}},
    {"rule": {"expr": [{}, [], {"counter": "named"}, {"jump": {"target": 3}}]}}]})";
  auto rules = parse_nft_port_rules(odd);
  ASSERT_TRUE(rules);
  EXPECT_TRUE(rules->empty());
  // Every prefix of a real ruleset: an error or a result, never a crash.
  const std::string full = kRuleset;
  for (size_t n = 0; n < full.size(); n += 7)
    (void)parse_nft_port_rules(full.substr(0, n));
}

}  // namespace
}  // namespace tern::doctor

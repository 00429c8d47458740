// io::Netlink against the real kernel: addresses (added, deleted with their prefix route, the
// kernel's own words in an error), routes in other tables, the table listing, rules (added,
// echoed with their priority, deleted one by one), sysctls and SO_MARK. Everything that
// changes routing happens in a network namespace the test creates on its own thread
// (unshare(CLONE_NEWNET) affects only that thread and what it starts). Needs root.
#include <gtest/gtest.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <functional>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "io/netlink.hpp"
#include "io/sysctl.hpp"
#include "io/tun.hpp"
#include "io/udp_socket.hpp"

namespace tern::io {
namespace {

using Family = IpAddress::Family;

std::string run_in_new_netns(const std::function<void()>& body) {
  std::string skip;
  std::thread t([&] {
    if (::unshare(CLONE_NEWNET) != 0) {
      skip = std::string("unshare(CLONE_NEWNET) failed: ") + std::strerror(errno);
      return;
    }
    body();
  });
  t.join();
  return skip;
}

// `ip -j ARGS` in the calling thread's namespace, parsed.
nlohmann::json ip_json(const std::string& args) {
  std::string cmd = "ip -j " + args + " 2>/dev/null";
  FILE* p = ::popen(cmd.c_str(), "r");
  if (p == nullptr) return nullptr;
  std::string out;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), p)) > 0)
    out.append(buf.data(), n);
  ::pclose(p);
  return nlohmann::json::parse(out, nullptr, false);
}

// The rules `ip rule` lists for a family that point at `table`, as "PRIORITY:[not ]..." strings.
std::vector<std::string> rules_to(const std::string& family, const std::string& table) {
  std::vector<std::string> found;
  auto rules = ip_json(family + " rule show");
  if (!rules.is_array()) return {"ip -j rule failed"};
  for (const auto& r : rules) {
    if (r.value("table", "") != table) continue;
    std::string text = std::to_string(r.value("priority", -1)) + ":";
    if (r.contains("not")) text += "not ";
    if (r.contains("fwmark")) text += "fwmark " + r.value("fwmark", "") + " ";
    text += "lookup " + table;
    if (r.contains("suppress_prefixlen")) {
      text += " suppress_prefixlength " + std::to_string(r.value("suppress_prefixlen", -1));
    }
    found.push_back(text);
  }
  return found;
}

RoutingRule not_fwmark(Family f, uint32_t table) {
  return RoutingRule::unless_marked(f, table, table);
}
RoutingRule suppress_main(Family f) {
  return RoutingRule::suppressing(f, kMainTable, 0);
}

template <typename List, typename Item>
bool contains(const List& list, const Item& x) {
  return std::find(list.begin(), list.end(), typename List::value_type(x)) != list.end();
}

void routes_and_rules_in_netns() {
  auto nl = Netlink::open();
  ASSERT_TRUE(nl) << nl.error().message;
  auto tun = Tun::open("rules%d");
  ASSERT_TRUE(tun) << tun.error().message;
  auto ifindex = nl->link_index(tun->name());
  ASSERT_TRUE(ifindex) << ifindex.error().message;
  ASSERT_TRUE(nl->set_up(*ifindex));

  // Default routes in table 51820, which then counts as in use; the main table has none.
  auto before = nl->route_tables();
  ASSERT_TRUE(before) << before.error().message;
  EXPECT_FALSE(contains(*before, 51820));
  for (auto text : {"0.0.0.0/0", "::/0"}) {
    auto st = nl->add_route(*ifindex, *IpPrefix::parse(text), 51820);
    ASSERT_TRUE(st) << st.error().message;
    EXPECT_TRUE(nl->add_route(*ifindex, *IpPrefix::parse(text), 51820)) << "EEXIST is fine";
  }
  ASSERT_TRUE(nl->add_route(*ifindex, *IpPrefix::parse("10.1.0.0/16"), 7));
  auto after = nl->route_tables();
  ASSERT_TRUE(after) << after.error().message;
  EXPECT_TRUE(contains(*after, 51820));
  EXPECT_TRUE(contains(*after, 7));
  EXPECT_TRUE(std::is_sorted(after->begin(), after->end()));
  auto v4 = ip_json("-4 route show table 51820");
  ASSERT_TRUE(v4.is_array() && v4.size() == 1) << v4.dump();
  EXPECT_EQ(v4[0].value("dst", ""), "default");
  EXPECT_EQ(v4[0].value("dev", ""), tun->name());
  auto v6 = ip_json("-6 route show table 51820");
  ASSERT_TRUE(v6.is_array() && v6.size() == 1) << v6.dump();
  EXPECT_EQ(v6[0].value("dst", ""), "default");
  EXPECT_TRUE(ip_json("-4 route show table main default").empty());
  ASSERT_TRUE(nl->delete_route(*ifindex, *IpPrefix::parse("10.1.0.0/16"), 7));
  EXPECT_TRUE(nl->delete_route(*ifindex, *IpPrefix::parse("10.1.0.0/16"), 7)) << "ESRCH is fine";
  auto gone = nl->route_tables();
  ASSERT_TRUE(gone);
  EXPECT_FALSE(contains(*gone, 7));

  // wg-quick's two rules, in its order; the kernel puts each new one first and says where.
  for (Family f : {Family::kV4, Family::kV6}) {
    const std::string fam = f == Family::kV4 ? "-4" : "-6";
    auto a = nl->add_rule(not_fwmark(f, 51820));
    ASSERT_TRUE(a) << a.error().message;
    auto b = nl->add_rule(suppress_main(f));
    ASSERT_TRUE(b) << b.error().message;
    ASSERT_TRUE(a->priority && b->priority) << "the kernel echoes the rule with its priority";
    EXPECT_LT(*b->priority, *a->priority);
    EXPECT_EQ(rules_to(fam, "51820"), std::vector<std::string>{std::to_string(*a->priority) +
                                                               ":not fwmark 0xca6c lookup 51820"});
    auto main_rules = rules_to(fam, "main");
    EXPECT_NE(std::find(main_rules.begin(), main_rules.end(),
                        std::to_string(*b->priority) + ":lookup main suppress_prefixlength 0"),
              main_rules.end());

    // A second identical rule is another rule; deleting by priority removes exactly one.
    auto again = nl->add_rule(not_fwmark(f, 51820));
    ASSERT_TRUE(again) << again.error().message;
    ASSERT_TRUE(again->priority);
    EXPECT_NE(*again->priority, *a->priority);
    ASSERT_TRUE(nl->delete_rule(*a));
    EXPECT_EQ(rules_to(fam, "51820"), std::vector<std::string>{std::to_string(*again->priority) +
                                                               ":not fwmark 0xca6c lookup 51820"});
    ASSERT_TRUE(nl->delete_rule(*again));
    ASSERT_TRUE(nl->delete_rule(*b));
    EXPECT_TRUE(rules_to(fam, "51820").empty());
    EXPECT_EQ(rules_to(fam, "main").size(), 1u) << "only the kernel's own `lookup main` is left";
    EXPECT_TRUE(nl->delete_rule(*a)) << "deleting a missing rule is not an error";
  }

  // A table id above 255 travels in FRA_TABLE only.
  auto big = nl->add_rule(not_fwmark(Family::kV4, 0x12345678));
  ASSERT_TRUE(big) << big.error().message;
  EXPECT_EQ(rules_to("-4", "305419896").size(), 1u);
  ASSERT_TRUE(nl->delete_rule(*big));

  // src_valid_mark belongs to the namespace: 0 in a fresh one, then what we write.
  auto mark = read_sysctl("net.ipv4.conf.all.src_valid_mark");
  ASSERT_TRUE(mark) << mark.error().message;
  EXPECT_EQ(*mark, "0");
  ASSERT_TRUE(write_sysctl("net.ipv4.conf.all.src_valid_mark", "1"));
  EXPECT_EQ(read_sysctl("net.ipv4.conf.all.src_valid_mark").value_or(""), "1");
}

TEST(NetlinkRules, RoutesInTablesAndRulesInANetworkNamespace) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root (creates a network namespace and a TUN)";
  auto skip = run_in_new_netns(routes_and_rules_in_netns);
  if (!skip.empty()) GTEST_SKIP() << skip;
}

// The addresses of `dev` as "ADDRESS/LENGTH".
std::vector<std::string> addresses(const std::string& dev) {
  std::vector<std::string> out;
  auto links = ip_json("addr show dev " + dev);
  if (!links.is_array() || links.empty()) return {"ip -j addr failed"};
  for (const auto& a : links[0].value("addr_info", nlohmann::json::array())) {
    out.push_back(a.value("local", "") + "/" + std::to_string(a.value("prefixlen", -1)));
  }
  return out;
}

void addresses_in_netns() {
  auto nl = Netlink::open();
  ASSERT_TRUE(nl) << nl.error().message;
  // A TUN interface: the kernel adds no prefix route for an address on lo.
  auto tun = Tun::open("ternaddr%d");
  ASSERT_TRUE(tun) << tun.error().message;
  const std::string dev = tun->name();
  auto ifindex = nl->link_index(dev);
  ASSERT_TRUE(ifindex) << ifindex.error().message;
  ASSERT_TRUE(nl->set_up(*ifindex));
  const IpPrefix v4 = *IpPrefix::parse("10.9.8.7/24");
  const IpPrefix v6 = *IpPrefix::parse("fd00:9::7/64");
  for (const auto& p : {v4, v6, *IpPrefix::parse("10.9.9.9/16")}) {
    auto st = nl->add_address(*ifindex, p);
    ASSERT_TRUE(st) << st.error().message;
  }
  auto before = addresses(dev);
  EXPECT_TRUE(contains(before, "10.9.8.7/24")) << testing::PrintToString(before);
  EXPECT_TRUE(contains(before, "fd00:9::7/64")) << testing::PrintToString(before);
  EXPECT_EQ(ip_json("-4 route show 10.9.8.0/24").size(), 1u);

  for (const auto& p : {v4, v6}) {
    auto st = nl->delete_address(*ifindex, p);
    ASSERT_TRUE(st) << st.error().message;
    EXPECT_TRUE(nl->delete_address(*ifindex, p)) << "an address already gone is not an error";
  }
  auto after = addresses(dev);
  EXPECT_FALSE(contains(after, "10.9.8.7/24")) << testing::PrintToString(after);
  EXPECT_FALSE(contains(after, "fd00:9::7/64")) << testing::PrintToString(after);
  EXPECT_TRUE(contains(after, "10.9.9.9/16")) << "the others stay";
  EXPECT_TRUE(ip_json("-4 route show 10.9.8.0/24").empty()) << "the prefix route went with it";

  // Refused before asking the kernel, and by the kernel.
  auto bad = nl->delete_address(*ifindex, IpPrefix{v4.address, 33});
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("prefix length above 32"), std::string::npos);
  auto nodev = nl->delete_address(99999, v4);
  ASSERT_FALSE(nodev);
  EXPECT_NE(nodev.error().message.find("removing address 10.9.8.7/24 from interface 99999"),
            std::string::npos)
      << nodev.error().message;
  EXPECT_NE(nodev.error().message.find("failed: "), std::string::npos);
  // The kernel's own words come along (extended ACK).
  auto mtu = nl->set_mtu(*ifindex, 10);
  ASSERT_FALSE(mtu);
  EXPECT_NE(mtu.error().message.find("(kernel: "), std::string::npos) << mtu.error().message;
  // The socket stays in step after an error: the next request gets its own answer.
  EXPECT_TRUE(nl->add_address(*ifindex, v4));
  EXPECT_TRUE(contains(addresses(dev), "10.9.8.7/24"));
}

TEST(NetlinkAddress, AddAndDeleteInANetworkNamespace) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root (creates a network namespace and a TUN)";
  std::string skip = run_in_new_netns(addresses_in_netns);
  if (!skip.empty()) GTEST_SKIP() << skip;
}

TEST(NetlinkRules, RuleText) {
  auto r = not_fwmark(Family::kV4, 51820);
  EXPECT_EQ(r.to_string(), "IPv4 rule `not fwmark 0xca6c lookup 51820`");
  r.priority = 32765;
  EXPECT_EQ(r.to_string(), "IPv4 rule `32765: not fwmark 0xca6c lookup 51820`");
  EXPECT_EQ(suppress_main(Family::kV6).to_string(),
            "IPv6 rule `lookup main suppress_prefixlength 0`");
}

TEST(Sysctl, MissingNameIsAnErrorNamingIt) {
  auto v = read_sysctl("net.ipv4.no_such_parameter");
  ASSERT_FALSE(v);
  EXPECT_NE(v.error().message.find("net.ipv4.no_such_parameter"), std::string::npos);
  EXPECT_NE(v.error().message.find("/proc/sys/net/ipv4/no_such_parameter"), std::string::npos);
  EXPECT_FALSE(write_sysctl("net.ipv4.no_such_parameter", "1"));
}

TEST(UdpSocketMark, SetsAndClearsSoMark) {
  auto s = UdpSocket::bind(Endpoint{*IpAddress::parse("127.0.0.1"), 0});
  ASSERT_TRUE(s) << s.error().message;
  auto st = s->set_mark(0xca6c);
  if (!st && ::geteuid() != 0) GTEST_SKIP() << "SO_MARK needs CAP_NET_ADMIN";
  ASSERT_TRUE(st) << st.error().message;
  uint32_t mark = 0;
  socklen_t len = sizeof mark;
  ASSERT_EQ(::getsockopt(s->fd(), SOL_SOCKET, SO_MARK, &mark, &len), 0);
  EXPECT_EQ(mark, 0xca6cu);
  ASSERT_TRUE(s->set_mark(0));
  ASSERT_EQ(::getsockopt(s->fd(), SOL_SOCKET, SO_MARK, &mark, &len), 0);
  EXPECT_EQ(mark, 0u);
}

}  // namespace
}  // namespace tern::io

// TUN and netlink against the real kernel. Everything happens in a network namespace the test
// creates on its own thread (unshare(CLONE_NEWNET) affects only the calling thread), so the
// machine's interfaces and routes are never touched; the namespace, and the TUN with it,
// vanish when the thread ends. Needs root; skipped otherwise.
#include <gtest/gtest.h>
#include <sched.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "io/clock.hpp"
#include "io/netlink.hpp"
#include "io/poller.hpp"
#include "io/tun.hpp"
#include "io/udp_socket.hpp"

namespace tern::io {
namespace {

// Runs `body` on a thread inside a fresh network namespace; returns why it could not.
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

// Runs a command (in the calling thread's namespace) and parses its JSON output.
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

uint16_t checksum(const uint8_t* data, size_t len) {
  uint32_t sum = 0;
  for (size_t i = 0; i + 1 < len; i += 2)
    sum += uint32_t{data[i]} << 8 | data[i + 1];
  if (len % 2) sum += uint32_t{data[len - 1]} << 8;
  while (sum >> 16)
    sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum);
}

// IPv4 + UDP (checksum 0, allowed over IPv4) from src:sport to dst:dport.
std::vector<uint8_t> udp4_packet(IpAddress src, uint16_t sport, IpAddress dst, uint16_t dport,
                                 Bytes payload) {
  std::vector<uint8_t> p(28 + payload.size());
  size_t total = p.size();
  p[0] = 0x45;
  p[2] = static_cast<uint8_t>(total >> 8);
  p[3] = static_cast<uint8_t>(total);
  p[8] = 64;  // TTL
  p[9] = 17;  // UDP
  std::copy(src.data(), src.data() + 4, p.begin() + 12);
  std::copy(dst.data(), dst.data() + 4, p.begin() + 16);
  uint16_t c = checksum(p.data(), 20);
  p[10] = static_cast<uint8_t>(c >> 8);
  p[11] = static_cast<uint8_t>(c);
  size_t udp_len = 8 + payload.size();
  p[20] = static_cast<uint8_t>(sport >> 8);
  p[21] = static_cast<uint8_t>(sport);
  p[22] = static_cast<uint8_t>(dport >> 8);
  p[23] = static_cast<uint8_t>(dport);
  p[24] = static_cast<uint8_t>(udp_len >> 8);
  p[25] = static_cast<uint8_t>(udp_len);
  std::copy(payload.begin(), payload.end(), p.begin() + 28);
  return p;
}

bool has_address(const nlohmann::json& link, const std::string& local, int prefixlen,
                 bool* tentative = nullptr) {
  for (const auto& a : link.value("addr_info", nlohmann::json::array())) {
    if (a.value("local", "") == local && a.value("prefixlen", -1) == prefixlen) {
      if (tentative) *tentative = a.value("tentative", false);
      return true;
    }
  }
  return false;
}

const nlohmann::json* find_route(const nlohmann::json& routes, const std::string& dst) {
  if (!routes.is_array()) return nullptr;
  for (const auto& r : routes) {
    if (r.value("dst", "") == dst) return &r;
  }
  return nullptr;
}

// Reads from the TUN until a packet matching `want` arrives or 5 s pass. The kernel also
// sends its own packets (MLD reports for the IPv6 address), which are skipped.
std::vector<uint8_t> read_until(Tun& tun, const std::function<bool(Bytes)>& want) {
  auto poller = Poller::create();
  EXPECT_TRUE(poller && poller->add(tun.fd(), 1, true, false));
  Instant deadline = monotonic_now() + std::chrono::seconds(5);
  std::vector<uint8_t> buf(2000);
  while (monotonic_now() < deadline) {
    auto n = tun.read(buf);
    EXPECT_TRUE(n) << n.error().message;
    if (!n) break;
    if (*n == 0) {
      Ready ready[1];
      (void)poller->wait(deadline - monotonic_now(), ready);
      continue;
    }
    Bytes pkt(buf.data(), *n);
    if (want(pkt)) return {pkt.begin(), pkt.end()};
  }
  return {};
}

bool is_udp4_to(Bytes p, const IpAddress& dst, uint16_t port) {
  return p.size() >= 28 && (p[0] >> 4) == 4 && p[9] == 17 &&
         std::equal(dst.data(), dst.data() + 4, p.begin() + 16) &&
         (uint16_t{p[22]} << 8 | p[23]) == port;
}

bool is_udp6_to(Bytes p, const IpAddress& dst, uint16_t port) {
  return p.size() >= 48 && (p[0] >> 4) == 6 && p[6] == 17 &&
         std::equal(dst.data(), dst.data() + 16, p.begin() + 24) &&
         (uint16_t{p[42]} << 8 | p[43]) == port;
}

void configure_and_verify() {
  auto nl = Netlink::open();
  ASSERT_TRUE(nl) << nl.error().message;
  auto lo = nl->link_index("lo");
  ASSERT_TRUE(lo) << lo.error().message;
  EXPECT_EQ(*lo, 1);

  auto tun = Tun::open("terntest%d");
  ASSERT_TRUE(tun) << tun.error().message;
  EXPECT_EQ(tun->name(), "terntest0");
  auto idx = nl->link_index(tun->name());
  ASSERT_TRUE(idx) << idx.error().message;

  auto busy = Tun::open(tun->name());
  ASSERT_FALSE(busy);
  EXPECT_NE(busy.error().message.find("already exists"), std::string::npos) << busy.error().message;

  IpPrefix v4 = *IpPrefix::parse("10.99.0.1/24");
  IpPrefix v6 = *IpPrefix::parse("fd99::1/64");
  ASSERT_TRUE(nl->set_mtu(*idx, 1400));
  ASSERT_TRUE(nl->add_address(*idx, v4));
  ASSERT_TRUE(nl->add_address(*idx, v6));
  auto again = nl->add_address(*idx, v4);
  EXPECT_TRUE(again) << "an existing address is not an error: " << again.error().message;
  ASSERT_TRUE(nl->set_up(*idx));
  IpPrefix route4 = *IpPrefix::parse("10.98.1.2/16");  // host bits set: masked on the way
  IpPrefix route6 = *IpPrefix::parse("fd98::/48");
  ASSERT_TRUE(nl->add_route(*idx, route4));
  ASSERT_TRUE(nl->add_route(*idx, route6));
  auto route_again = nl->add_route(*idx, route4);
  EXPECT_TRUE(route_again) << route_again.error().message;

  // Checked by iproute2, not by our own code.
  auto links = ip_json("addr show dev " + tun->name());
  ASSERT_TRUE(links.is_array() && links.size() == 1) << links.dump();
  const auto& link = links[0];
  EXPECT_EQ(link.value("mtu", 0), 1400);
  auto flags = link.value("flags", nlohmann::json::array());
  EXPECT_NE(std::find(flags.begin(), flags.end(), "UP"), flags.end()) << link.dump();
  EXPECT_TRUE(has_address(link, "10.99.0.1", 24)) << link.dump();
  bool tentative = true;
  EXPECT_TRUE(has_address(link, "fd99::1", 64, &tentative)) << link.dump();
  EXPECT_FALSE(tentative) << "IFA_F_NODAD makes the address usable at once";

  auto routes4 = ip_json("-d -4 route show dev " + tun->name());  // -d: show the protocol
  const auto* r4 = find_route(routes4, "10.98.0.0/16");
  ASSERT_NE(r4, nullptr) << routes4.dump();
  EXPECT_EQ(r4->value("protocol", ""), "boot");
  EXPECT_EQ(r4->value("scope", ""), "link");
  auto routes6 = ip_json("-6 route show dev " + tun->name());
  ASSERT_NE(find_route(routes6, "fd98::/48"), nullptr) << routes6.dump();

  // Outbound: a datagram to the overlay comes out of the TUN as an IP packet.
  auto sock4 = UdpSocket::bind(*Endpoint::parse("10.99.0.1:0"));
  ASSERT_TRUE(sock4) << sock4.error().message;
  IpAddress peer4 = *IpAddress::parse("10.98.7.7");
  uint8_t hello[5] = {'h', 'e', 'l', 'l', 'o'};
  SendBatch out(4);
  ASSERT_TRUE(out.add({peer4, 9999}, hello));
  ASSERT_EQ(*sock4->send(out), 1u);
  auto pkt = read_until(*tun, [&](Bytes p) { return is_udp4_to(p, peer4, 9999); });
  ASSERT_EQ(pkt.size(), 28u + 5u);
  EXPECT_TRUE(std::equal(hello, hello + 5, pkt.begin() + 28));

  auto sock6 = UdpSocket::bind(*Endpoint::parse("[fd99::1]:0"));
  ASSERT_TRUE(sock6) << sock6.error().message;
  IpAddress peer6 = *IpAddress::parse("fd98::7");
  out.clear();
  ASSERT_TRUE(out.add({peer6, 9998}, hello));
  ASSERT_EQ(*sock6->send(out), 1u);
  pkt = read_until(*tun, [&](Bytes p) { return is_udp6_to(p, peer6, 9998); });
  ASSERT_EQ(pkt.size(), 48u + 5u);

  // read_batch takes several packets in one call.
  out.clear();
  for (uint16_t port = 7000; port < 7003; ++port)
    ASSERT_TRUE(out.add({peer4, port}, hello));
  ASSERT_EQ(*sock4->send(out), 3u);
  std::vector<std::vector<uint8_t>> storage(8, std::vector<uint8_t>(2000));
  std::vector<MutableBytes> bufs(storage.begin(), storage.end());
  std::vector<size_t> lens(8);
  size_t seen = 0;
  Instant deadline = monotonic_now() + std::chrono::seconds(5);
  while (seen < 3 && monotonic_now() < deadline) {
    auto n = tun->read_batch(bufs, lens);
    ASSERT_TRUE(n) << n.error().message;
    for (size_t i = 0; i < *n; ++i) {
      Bytes p(storage[i].data(), lens[i]);
      for (uint16_t port = 7000; port < 7003; ++port)
        seen += is_udp4_to(p, peer4, port) ? 1 : 0;
    }
    if (*n == 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  EXPECT_EQ(seen, 3u);

  // Inbound: a packet written to the TUN reaches the local socket.
  IpAddress tun_peer = *IpAddress::parse("10.99.0.2");
  uint8_t reply[3] = {1, 2, 3};
  auto in = udp4_packet(tun_peer, 5555, v4.address, sock4->local_port(), reply);
  auto w = tun->write(in);
  ASSERT_TRUE(w) << w.error().message;
  EXPECT_EQ(*w, in.size());
  RecvBatch rb(4, 2000);
  auto poller = Poller::create();
  ASSERT_TRUE(poller && poller->add(sock4->fd(), 1, true, false));
  Ready ready[1];
  ASSERT_TRUE(poller->wait(std::chrono::seconds(5), ready));
  auto got = sock4->recv(rb);
  ASSERT_TRUE(got);
  ASSERT_EQ(*got, 1u);
  EXPECT_EQ(rb.from(0), (Endpoint{tun_peer, 5555}));
  EXPECT_EQ(std::vector<uint8_t>(rb.data(0).begin(), rb.data(0).end()),
            std::vector<uint8_t>(reply, reply + 3));

  uint8_t junk[20] = {};
  auto bad = tun->write(junk);
  EXPECT_FALSE(bad) << "the kernel rejects a packet that is neither IPv4 nor IPv6";

  // Errors name what was attempted.
  auto missing = nl->link_index("nosuchif0");
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("no network interface named nosuchif0"), std::string::npos)
      << missing.error().message;
  auto bad_route = nl->add_route(9999, *IpPrefix::parse("10.97.0.0/16"));
  ASSERT_FALSE(bad_route);
  EXPECT_NE(bad_route.error().message.find("10.97.0.0/16"), std::string::npos)
      << bad_route.error().message;
  EXPECT_NE(bad_route.error().message.find("ENODEV"), std::string::npos)
      << bad_route.error().message;

  // Deleting: routes go, deleting again is fine, and the link goes.
  ASSERT_TRUE(nl->delete_route(*idx, route4));
  ASSERT_TRUE(nl->delete_route(*idx, route6));
  EXPECT_TRUE(nl->delete_route(*idx, route4));
  EXPECT_EQ(find_route(ip_json("-4 route show dev " + tun->name()), "10.98.0.0/16"), nullptr);
  EXPECT_EQ(find_route(ip_json("-6 route show dev " + tun->name()), "fd98::/48"), nullptr);
  ASSERT_TRUE(nl->delete_link(*idx));
  EXPECT_FALSE(nl->link_index("terntest0"));
}

TEST(TunNetlink, ConfigureTunInANetworkNamespace) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root (creates a network namespace and a TUN)";
  std::string skip = run_in_new_netns(configure_and_verify);
  if (!skip.empty()) GTEST_SKIP() << skip;
}

TEST(Tun, RejectsOverlongName) {
  auto tun = Tun::open("a-name-longer-than-15");
  ASSERT_FALSE(tun);
  EXPECT_NE(tun.error().message.find("too long"), std::string::npos);
}

}  // namespace
}  // namespace tern::io

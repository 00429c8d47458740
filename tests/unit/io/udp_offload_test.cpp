// UDP GSO and GRO over loopback: datagrams coalesced on send must arrive exactly as sent, to a
// plain socket (the kernel segments them) and to a GRO socket (one buffer, cut by
// segment_size). Skipped where the kernel lacks the offloads.
#include <gtest/gtest.h>

#include <map>
#include <vector>

#include "io/clock.hpp"
#include "io/poller.hpp"
#include "io/udp_socket.hpp"

namespace tern::io {
namespace {

Endpoint loopback(uint16_t port) {
  return Endpoint{IpAddress::v4(0x7f000001u), port};
}

std::vector<uint8_t> pattern(size_t size, size_t seed) {
  std::vector<uint8_t> p(size);
  for (size_t k = 0; k < size; ++k)
    p[k] = static_cast<uint8_t>(seed * 131 + k * 7 + (k >> 8));
  return p;
}

struct Got {
  std::vector<std::vector<uint8_t>> datagrams;
  size_t entries = 0;    // RecvBatch entries
  size_t coalesced = 0;  // entries that held more than one datagram
};

// Receives until `want` datagrams arrived or 5 s passed, cutting GRO entries apart.
Got receive(UdpSocket& sock, size_t want) {
  Got got;
  RecvBatch rb(16, 65536);
  auto poller = Poller::create();
  EXPECT_TRUE(poller && poller->add(sock.fd(), 1, true, false));
  const Instant deadline = monotonic_now() + std::chrono::seconds(5);
  while (got.datagrams.size() < want && monotonic_now() < deadline) {
    auto n = sock.recv(rb);
    EXPECT_TRUE(n) << n.error().message;
    if (!n) break;
    if (*n == 0) {
      Ready ready[1];
      (void)poller->wait(deadline - monotonic_now(), ready);
      continue;
    }
    for (size_t i = 0; i < *n; ++i) {
      Bytes all = rb.data(i);
      const size_t seg = rb.segment_size(i);
      EXPECT_GT(seg, 0u);
      if (seg == 0) break;
      ++got.entries;
      if (all.size() > seg) ++got.coalesced;
      for (size_t off = 0; off < all.size(); off += seg) {
        Bytes d = all.subspan(off, std::min(seg, all.size() - off));
        got.datagrams.emplace_back(d.begin(), d.end());
      }
    }
  }
  return got;
}

void send_all(UdpSocket& sock, SendBatch& batch) {
  size_t done = 0;
  const Instant deadline = monotonic_now() + std::chrono::seconds(5);
  while (done < batch.size() && monotonic_now() < deadline) {
    auto n = sock.send(batch, done);
    ASSERT_TRUE(n) << n.error().message;
    done += *n;
  }
  ASSERT_EQ(done, batch.size());
  for (size_t i = 0; i < batch.size(); ++i)
    EXPECT_EQ(batch.error(i), 0) << "entry " << i;
}

// Runs of equal sizes (coalescible), a shorter datagram that must end a run, a larger one that
// must start a new run, a second destination in between, and more than 64 in one run.
struct Plan {
  std::vector<std::vector<uint8_t>> payloads;
  std::vector<int> destination;  // 0 or 1
};

Plan make_plan() {
  Plan p;
  auto add = [&](size_t size, int dst) {
    p.payloads.push_back(pattern(size, p.payloads.size()));
    p.destination.push_back(dst);
  };
  for (int i = 0; i < 10; ++i)
    add(1000, 0);
  add(400, 0);  // shorter: ends the run
  add(1000, 0);
  add(1200, 0);  // larger: a new run
  for (int i = 0; i < 3; ++i)
    add(700, 1);
  for (int i = 0; i < 80; ++i)  // above 64 segments per message
    add(1452, 0);
  add(1, 0);
  add(1452, 0);
  return p;
}

void run(UdpSocket& sender, UdpSocket& rx0, UdpSocket& rx1, bool expect_coalesced) {
  Plan plan = make_plan();
  SendBatch batch(256);
  const Endpoint to[2] = {loopback(rx0.local_port()), loopback(rx1.local_port())};
  for (size_t i = 0; i < plan.payloads.size(); ++i)
    ASSERT_TRUE(batch.add(to[plan.destination[i]], plan.payloads[i]));
  send_all(sender, batch);
  EXPECT_EQ(sender.send_errors().total(), 0u);

  std::vector<std::vector<uint8_t>> want[2];
  for (size_t i = 0; i < plan.payloads.size(); ++i)
    want[plan.destination[i]].push_back(plan.payloads[i]);
  Got got0 = receive(rx0, want[0].size());
  Got got1 = receive(rx1, want[1].size());
  EXPECT_EQ(got0.datagrams, want[0]);  // loopback keeps the order
  EXPECT_EQ(got1.datagrams, want[1]);
  if (expect_coalesced) {
    EXPECT_GT(got0.coalesced, 0u);
    EXPECT_LT(got0.entries, want[0].size());
  } else {
    EXPECT_EQ(got0.coalesced, 0u);
  }
}

TEST(UdpGso, CoalescedDatagramsReachAPlainSocketIntact) {
  auto sender = UdpSocket::bind(0);
  auto rx0 = UdpSocket::bind(loopback(0));
  auto rx1 = UdpSocket::bind(loopback(0));
  ASSERT_TRUE(sender && rx0 && rx1);
  if (!sender->enable_gso()) GTEST_SKIP() << "no UDP GSO in this kernel";
  EXPECT_TRUE(sender->gso_enabled());
  run(*sender, *rx0, *rx1, false);
  EXPECT_TRUE(sender->gso_enabled());
}

TEST(UdpGso, GroReceiverGetsTrainsAndCutsThemApart) {
  auto sender = UdpSocket::bind(loopback(0));
  auto rx0 = UdpSocket::bind(0);  // dual stack: the control messages work on both families
  auto rx1 = UdpSocket::bind(loopback(0));
  ASSERT_TRUE(sender && rx0 && rx1);
  if (!sender->enable_gso()) GTEST_SKIP() << "no UDP GSO in this kernel";
  if (!rx0->enable_gro() || !rx1->enable_gro()) GTEST_SKIP() << "no UDP GRO in this kernel";
  run(*sender, *rx0, *rx1, true);
}

TEST(UdpGso, WithoutGsoNothingIsCoalesced) {
  auto sender = UdpSocket::bind(0);
  auto rx0 = UdpSocket::bind(loopback(0));
  auto rx1 = UdpSocket::bind(loopback(0));
  ASSERT_TRUE(sender && rx0 && rx1);
  EXPECT_FALSE(sender->gso_enabled());
  if (!rx0->enable_gro()) GTEST_SKIP() << "no UDP GRO in this kernel";
  run(*sender, *rx0, *rx1, false);
}

TEST(UdpGso, FailuresStayPerDatagram) {
  auto sender = UdpSocket::bind(loopback(0));  // IPv4 only: IPv6 destinations fail
  auto rx = UdpSocket::bind(loopback(0));
  ASSERT_TRUE(sender && rx);
  if (!sender->enable_gso()) GTEST_SKIP() << "no UDP GSO in this kernel";
  const Endpoint to = loopback(rx->local_port());
  auto small = pattern(100, 1);
  auto huge = pattern(70'000, 2);
  SendBatch batch(16);
  for (int i = 0; i < 3; ++i)
    ASSERT_TRUE(batch.add(to, small));
  ASSERT_TRUE(batch.add(*Endpoint::parse("[2001:db8::1]:9"), small));
  for (int i = 0; i < 3; ++i)
    ASSERT_TRUE(batch.add(to, small));
  ASSERT_TRUE(batch.add(to, huge));
  ASSERT_TRUE(batch.add(to, small));
  auto n = sender->send(batch);
  ASSERT_TRUE(n) << n.error().message;
  EXPECT_EQ(*n, 9u);
  for (size_t i = 0; i < 9; ++i) {
    const int want = i == 3 ? EAFNOSUPPORT : i == 7 ? EMSGSIZE : 0;
    EXPECT_EQ(batch.error(i), want) << "entry " << i;
  }
  EXPECT_EQ(sender->send_errors().total(), 2u);
  Got got = receive(*rx, 7);
  EXPECT_EQ(got.datagrams.size(), 7u);
  for (const auto& d : got.datagrams)
    EXPECT_EQ(d, small);
}

}  // namespace
}  // namespace tern::io

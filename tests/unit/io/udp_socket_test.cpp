#include "io/udp_socket.hpp"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <vector>

#include "io/clock.hpp"
#include "io/poller.hpp"

namespace tern::io {
namespace {

Endpoint ep(const char* text) {
  auto e = Endpoint::parse(text);
  EXPECT_TRUE(e) << text;
  return e.value_or(Endpoint{});
}

// Datagram i: size varies from 0 to ~1400 bytes, content derived from i and the offset.
std::vector<uint8_t> payload(size_t i) {
  std::vector<uint8_t> p((i * 137) % 1401);
  for (size_t k = 0; k < p.size(); ++k)
    p[k] = static_cast<uint8_t>(i * 31 + k * 7);
  return p;
}

struct Received {
  std::vector<uint8_t> data;
  Endpoint from;
  bool truncated;
};

// Receives until `want` datagrams arrived or 5 s passed.
std::vector<Received> receive(UdpSocket& sock, RecvBatch& batch, size_t want) {
  std::vector<Received> out;
  auto poller = Poller::create();
  EXPECT_TRUE(poller);
  EXPECT_TRUE(poller->add(sock.fd(), 1, true, false));
  Instant deadline = monotonic_now() + std::chrono::seconds(5);
  while (out.size() < want && monotonic_now() < deadline) {
    auto n = sock.recv(batch);
    EXPECT_TRUE(n) << n.error().message;
    if (!n) break;
    if (*n == 0) {
      Ready ready[1];
      EXPECT_TRUE(poller->wait(deadline - monotonic_now(), ready));
      continue;
    }
    EXPECT_EQ(*n, batch.size());
    for (size_t i = 0; i < *n; ++i) {
      Bytes d = batch.data(i);
      out.push_back({{d.begin(), d.end()}, batch.from(i), batch.truncated(i)});
    }
  }
  return out;
}

void send_and_check(UdpSocket& sender, const Endpoint& sender_addr, UdpSocket& receiver,
                    const Endpoint& receiver_addr) {
  constexpr size_t kCount = 100;
  std::vector<std::vector<uint8_t>> payloads;
  for (size_t i = 0; i < kCount; ++i)
    payloads.push_back(payload(i));

  SendBatch batch(32);  // smaller than kCount: the caller refills it
  size_t next = 0;
  while (next < kCount) {
    batch.clear();
    while (next < kCount && batch.add(receiver_addr, payloads[next]))
      ++next;
    size_t done = 0;
    while (done < batch.size()) {
      auto n = sender.send(batch, done);
      ASSERT_TRUE(n) << n.error().message;
      done += *n;
    }
    for (size_t i = 0; i < batch.size(); ++i)
      EXPECT_EQ(batch.error(i), 0) << i;
  }
  EXPECT_EQ(sender.send_errors().total(), 0u);

  RecvBatch rb(64, 2048);
  auto got = receive(receiver, rb, kCount);
  ASSERT_EQ(got.size(), kCount);
  for (size_t i = 0; i < kCount; ++i) {  // loopback keeps the order
    EXPECT_EQ(got[i].data, payloads[i]) << "datagram " << i;
    EXPECT_EQ(got[i].from, sender_addr) << got[i].from.to_string();
    EXPECT_FALSE(got[i].truncated);
  }
}

TEST(UdpSocket, BatchOverIpv4Loopback) {
  auto receiver = UdpSocket::bind(ep("127.0.0.1:0"));
  ASSERT_TRUE(receiver) << receiver.error().message;
  auto sender = UdpSocket::bind(0);  // dual stack: IPv4 goes out v4-mapped
  ASSERT_TRUE(sender) << sender.error().message;
  ASSERT_NE(receiver->local_port(), 0);
  ASSERT_NE(sender->local_port(), 0);
  Endpoint to{IpAddress::v4(0x7f000001u), receiver->local_port()};
  Endpoint from{IpAddress::v4(0x7f000001u), sender->local_port()};
  send_and_check(*sender, from, *receiver, to);
}

TEST(UdpSocket, DualStackReceiverUnmapsIpv4Senders) {
  auto receiver = UdpSocket::bind(0);
  ASSERT_TRUE(receiver) << receiver.error().message;
  ASSERT_TRUE(receiver->is_v6());
  auto sender = UdpSocket::bind(ep("127.0.0.1:0"));
  ASSERT_TRUE(sender) << sender.error().message;
  Endpoint to{IpAddress::v4(0x7f000001u), receiver->local_port()};
  Endpoint from{IpAddress::v4(0x7f000001u), sender->local_port()};
  send_and_check(*sender, from, *receiver, to);
}

TEST(UdpSocket, BatchOverIpv6Loopback) {
  auto receiver = UdpSocket::bind(ep("[::1]:0"));
  if (!receiver) GTEST_SKIP() << "no IPv6 loopback: " << receiver.error().message;
  auto sender = UdpSocket::bind(0);
  ASSERT_TRUE(sender) << sender.error().message;
  Endpoint to{*IpAddress::parse("::1"), receiver->local_port()};
  Endpoint from{*IpAddress::parse("::1"), sender->local_port()};
  send_and_check(*sender, from, *receiver, to);
}

TEST(UdpSocket, FailedDatagramsAreSkippedAndCounted) {
  auto receiver = UdpSocket::bind(ep("127.0.0.1:0"));
  ASSERT_TRUE(receiver);
  auto sender = UdpSocket::bind(ep("127.0.0.1:0"));  // IPv4 only: cannot reach IPv6
  ASSERT_TRUE(sender);
  Endpoint to{IpAddress::v4(0x7f000001u), receiver->local_port()};
  std::vector<uint8_t> small(10, 0xab);
  std::vector<uint8_t> huge(70'000, 0xcd);  // above the 65507-byte UDP limit: EMSGSIZE

  SendBatch batch(8);
  ASSERT_TRUE(batch.add(to, small));
  ASSERT_TRUE(batch.add(to, huge));
  ASSERT_TRUE(batch.add(to, small));
  ASSERT_TRUE(batch.add(ep("[2001:db8::1]:9"), small));
  ASSERT_TRUE(batch.add(to, small));
  auto n = sender->send(batch);
  ASSERT_TRUE(n) << n.error().message;
  EXPECT_EQ(*n, 5u);
  EXPECT_EQ(batch.error(0), 0);
  EXPECT_EQ(batch.error(1), EMSGSIZE);
  EXPECT_EQ(batch.error(2), 0);
  EXPECT_EQ(batch.error(3), EAFNOSUPPORT);
  EXPECT_EQ(batch.error(4), 0);
  EXPECT_EQ(sender->send_errors().message_too_big, 1u);
  EXPECT_EQ(sender->send_errors().other, 1u);
  EXPECT_EQ(sender->send_errors().total(), 2u);
  EXPECT_EQ(sender->last_errno(), EAFNOSUPPORT);

  RecvBatch rb(8, 64);
  auto got = receive(*receiver, rb, 3);
  ASSERT_EQ(got.size(), 3u);
  for (const auto& g : got)
    EXPECT_EQ(g.data, small);

  // Resuming at an index sends only the rest.
  auto again = sender->send(batch, 4);
  ASSERT_TRUE(again);
  EXPECT_EQ(*again, 1u);
  EXPECT_EQ(receive(*receiver, rb, 1).size(), 1u);
  EXPECT_EQ(*sender->send(batch, 5), 0u);
}

TEST(UdpSocket, OversizedDatagramIsMarkedTruncated) {
  auto receiver = UdpSocket::bind(ep("127.0.0.1:0"));
  auto sender = UdpSocket::bind(ep("127.0.0.1:0"));
  ASSERT_TRUE(receiver && sender);
  std::vector<uint8_t> big(300);
  for (size_t k = 0; k < big.size(); ++k)
    big[k] = static_cast<uint8_t>(k);
  SendBatch batch(1);
  ASSERT_TRUE(batch.add({IpAddress::v4(0x7f000001u), receiver->local_port()}, big));
  ASSERT_EQ(*sender->send(batch), 1u);
  RecvBatch rb(4, 100);
  auto got = receive(*receiver, rb, 1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_TRUE(got[0].truncated);
  EXPECT_EQ(got[0].data, std::vector<uint8_t>(big.begin(), big.begin() + 100));
}

TEST(UdpSocket, EmptyReceiveReturnsZero) {
  auto sock = UdpSocket::bind(0);
  ASSERT_TRUE(sock);
  RecvBatch rb(4, 100);
  auto n = sock->recv(rb);
  ASSERT_TRUE(n);
  EXPECT_EQ(*n, 0u);
  EXPECT_EQ(rb.size(), 0u);
}

TEST(UdpSocket, PortInUseNamesThePortAndTheFix) {
  auto first = UdpSocket::bind(0);
  ASSERT_TRUE(first);
  auto second = UdpSocket::bind(first->local_port());
  ASSERT_FALSE(second);
  std::string want = "UDP port " + std::to_string(first->local_port()) + " is in use";
  EXPECT_NE(second.error().message.find(want), std::string::npos) << second.error().message;
  EXPECT_NE(second.error().message.find("ListenPort"), std::string::npos);
}

TEST(UdpSocket, ReusePortLetsAGroupShareOnePort) {
  const UdpBindOptions group{.reuse_port = true};
  auto first = UdpSocket::bind(ep("127.0.0.1:0"), group);
  ASSERT_TRUE(first) << first.error().message;
  const Endpoint at{IpAddress::v4(0x7f000001), first->local_port()};
  auto second = UdpSocket::bind(at, group);
  ASSERT_TRUE(second) << second.error().message;
  EXPECT_EQ(second->local_port(), first->local_port());

  // A socket without the option cannot join the group, nor can one that asks for it bind a
  // port a plain socket holds.
  auto plain = UdpSocket::bind(at);
  ASSERT_FALSE(plain);
  EXPECT_NE(plain.error().message.find("in use"), std::string::npos) << plain.error().message;
  auto alone = UdpSocket::bind(ep("127.0.0.1:0"));
  ASSERT_TRUE(alone);
  auto joiner = UdpSocket::bind(Endpoint{at.address, alone->local_port()}, group);
  ASSERT_FALSE(joiner);
  EXPECT_NE(joiner.error().message.find("in use"), std::string::npos) << joiner.error().message;

  // Every member receives: the kernel hashes each sender's 4-tuple to one of them.
  std::vector<UdpSocket> senders;
  for (int i = 0; i < 32; ++i) {
    auto s = UdpSocket::bind(ep("127.0.0.1:0"));
    ASSERT_TRUE(s);
    senders.push_back(std::move(*s));
  }
  const uint8_t byte = 1;
  for (auto& s : senders) {
    SendBatch batch(1);
    ASSERT_TRUE(batch.add(at, Bytes(&byte, 1)));
    auto n = s.send(batch);
    ASSERT_TRUE(n);
    EXPECT_EQ(*n, 1u);
  }
  RecvBatch rb(64, 64);
  size_t total = 0;
  std::vector<size_t> per_member;
  for (UdpSocket* member : {&*first, &*second}) {
    // Loopback queues a datagram on the receiver within the sender's call: nothing to wait for.
    size_t got = 0;
    for (auto n = member->recv(rb); n && *n > 0; n = member->recv(rb))
      got += *n;
    per_member.push_back(got);
    total += got;
  }
  EXPECT_EQ(total, senders.size());
  EXPECT_GT(per_member[0], 0u);  // 32 senders all hashed to one member: about 2^-31
  EXPECT_GT(per_member[1], 0u);
}

TEST(UdpSocket, BufferSizeIsAnOption) {
  auto small = UdpSocket::bind(ep("127.0.0.1:0"), UdpBindOptions{.buffer_bytes = 64 << 10});
  ASSERT_TRUE(small);
  int rcv = 0;
  socklen_t len = sizeof rcv;
  ASSERT_EQ(getsockopt(small->fd(), SOL_SOCKET, SO_RCVBUF, &rcv, &len), 0);
  EXPECT_LT(rcv, 1 << 20);  // the kernel doubles what was asked for: 128 KiB
}

TEST(UdpSocket, BuffersAreRaisedAndDontFragmentCanBeSet) {
  auto sock = UdpSocket::bind(0);
  ASSERT_TRUE(sock);
  int rcv = 0;
  socklen_t len = sizeof rcv;
  ASSERT_EQ(getsockopt(sock->fd(), SOL_SOCKET, SO_RCVBUF, &rcv, &len), 0);
  if (geteuid() == 0) {
    EXPECT_GE(rcv, 4 << 20);  // SO_RCVBUFFORCE worked
  }
  EXPECT_TRUE(sock->set_dont_fragment(true));
  EXPECT_TRUE(sock->set_dont_fragment(false));
}

TEST(SendBatch, RefusesWhenFull) {
  SendBatch batch(2);
  uint8_t b[1] = {1};
  EXPECT_TRUE(batch.add({}, b));
  EXPECT_TRUE(batch.add({}, b));
  EXPECT_TRUE(batch.full());
  EXPECT_FALSE(batch.add({}, b));
  EXPECT_EQ(batch.size(), 2u);
  batch.clear();
  EXPECT_TRUE(batch.empty());
}

TEST(RecvBatch, SurvivesMove) {
  auto receiver = UdpSocket::bind(ep("127.0.0.1:0"));
  auto sender = UdpSocket::bind(ep("127.0.0.1:0"));
  ASSERT_TRUE(receiver && sender);
  RecvBatch original(4, 100);
  RecvBatch rb(std::move(original));
  uint8_t b[3] = {1, 2, 3};
  SendBatch batch(1);
  ASSERT_TRUE(batch.add({IpAddress::v4(0x7f000001u), receiver->local_port()}, b));
  ASSERT_EQ(*sender->send(batch), 1u);
  auto got = receive(*receiver, rb, 1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].data, std::vector<uint8_t>(b, b + 3));
}

}  // namespace
}  // namespace tern::io

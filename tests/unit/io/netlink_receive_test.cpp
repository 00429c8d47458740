// receive_netlink on crafted answers: a datagram socket pair stands in for the kernel, so the
// parsing of ACKs, errors with their extended-ACK text, dump ends, stale sequence numbers and
// broken lengths is tested without privileges.
#include "io/netlink_receive.hpp"

#include <gtest/gtest.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "io/fd.hpp"

namespace tern::io {
namespace {

constexpr uint32_t kSeq = 7;

using Datagram = std::vector<uint8_t>;

// One netlink message: header, then `payload`, padded to 4 bytes.
void put(Datagram& d, uint16_t type, uint32_t seq, const Datagram& payload, uint16_t flags = 0) {
  nlmsghdr h{};
  h.nlmsg_len = static_cast<uint32_t>(NLMSG_HDRLEN + payload.size());
  h.nlmsg_type = type;
  h.nlmsg_flags = flags;
  h.nlmsg_seq = seq;
  const size_t at = d.size();
  d.resize(at + NLMSG_ALIGN(h.nlmsg_len));
  std::memcpy(d.data() + at, &h, sizeof h);
  std::copy(payload.begin(), payload.end(), d.begin() + static_cast<ptrdiff_t>(at + NLMSG_HDRLEN));
}

// `bytes` at the end of `d`, padded to `align` (resize and copy: g++ 12 at -O2 takes a
// vector's range insert into a 20-byte vector for an out-of-bounds copy, a false warning).
void append(Datagram& d, const Datagram& bytes, size_t align = 1) {
  const size_t at = d.size();
  d.resize((at + bytes.size() + align - 1) / align * align);
  std::copy(bytes.begin(), bytes.end(), d.begin() + static_cast<ptrdiff_t>(at));
}

Datagram int_payload(int value) {
  Datagram p(sizeof value);
  std::memcpy(p.data(), &value, sizeof value);
  return p;
}

// An NLMSG_ERROR payload: the errno, the request (its header alone when `capped`, else the
// header and `request_body`), then an NLMSGERR_ATTR_MSG attribute carrying `text` if not empty.
Datagram error_payload(int err, bool capped, const Datagram& request_body,
                       const std::string& text) {
  nlmsgerr e{};
  e.error = -err;
  e.msg.nlmsg_len = static_cast<uint32_t>(NLMSG_HDRLEN + request_body.size());
  e.msg.nlmsg_seq = kSeq;
  Datagram p(sizeof e);
  std::memcpy(p.data(), &e, sizeof e);
  if (!capped) {
    append(p, request_body, NLMSG_ALIGNTO);
  }
  if (!text.empty()) {
    nlattr a{};
    a.nla_len = static_cast<uint16_t>(sizeof a + text.size() + 1);
    a.nla_type = NLMSGERR_ATTR_MSG;
    Datagram attr(NLA_ALIGN(a.nla_len));
    std::memcpy(attr.data(), &a, sizeof a);
    std::memcpy(attr.data() + sizeof a, text.c_str(), text.size() + 1);
    // An attribute of another type first: the reader must step over it.
    nlattr other{};
    other.nla_len = sizeof other + 4;
    other.nla_type = NLMSGERR_ATTR_OFFS;
    Datagram offs(sizeof other + 4);
    std::memcpy(offs.data(), &other, sizeof other);
    append(p, offs);
    append(p, attr);
  }
  return p;
}

struct Pair {
  UniqueFd ours;    // what receive_netlink reads
  UniqueFd kernel;  // what the test writes
};

Pair socket_pair() {
  int fds[2] = {-1, -1};
  EXPECT_EQ(::socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, fds), 0) << std::strerror(errno);
  return Pair{UniqueFd(fds[0]), UniqueFd(fds[1])};
}

void send_all(const Pair& p, const std::vector<Datagram>& datagrams) {
  for (const auto& d : datagrams) {
    ASSERT_EQ(::send(p.kernel.get(), d.data(), d.size(), 0), static_cast<ssize_t>(d.size()));
  }
}

Result<NetlinkAnswer> answer_to(const std::vector<Datagram>& datagrams) {
  Pair p = socket_pair();
  send_all(p, datagrams);
  return receive_netlink_answer(p.ours.get(), kSeq, "the test's request");
}

TEST(NetlinkReceive, DumpCollectsItsOwnMessagesUntilDone) {
  Datagram first, second;
  put(first, RTM_NEWLINK, kSeq, {1, 2, 3, 4, 5});
  put(first, RTM_NEWLINK, kSeq - 1, {9});  // an earlier request's late answer
  put(first, NLMSG_NOOP, kSeq, {});
  put(second, RTM_NEWADDR, kSeq, {6, 7, 8, 9});
  put(second, NLMSG_DONE, kSeq, int_payload(0));
  put(second, RTM_NEWADDR, kSeq, {0});  // past the end: never read
  auto a = answer_to({first, second});
  ASSERT_TRUE(a) << a.error().message;
  EXPECT_EQ(a->error, 0);
  ASSERT_EQ(a->messages.size(), 2u);
  nlmsghdr h{};
  std::memcpy(&h, a->messages[0].data(), sizeof h);
  EXPECT_EQ(h.nlmsg_type, RTM_NEWLINK);
  EXPECT_EQ(a->messages[0].size(), NLMSG_HDRLEN + 5);  // whole, without the padding
  EXPECT_EQ(a->messages[0].back(), 5);
  std::memcpy(&h, a->messages[1].data(), sizeof h);
  EXPECT_EQ(h.nlmsg_type, RTM_NEWADDR);
}

TEST(NetlinkReceive, AckEndsWithNoError) {
  Datagram d;
  put(d, NLMSG_ERROR, kSeq, error_payload(0, true, {}, ""));
  auto a = answer_to({d});
  ASSERT_TRUE(a) << a.error().message;
  EXPECT_EQ(a->error, 0);
  EXPECT_TRUE(a->kernel_text.empty());
  EXPECT_TRUE(a->messages.empty());
}

TEST(NetlinkReceive, ErrorCarriesTheKernelsTextCappedOrNot) {
  const Datagram body = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};  // the request's payload, echoed
  for (bool capped : {true, false}) {
    const uint16_t flags = NLM_F_ACK_TLVS | (capped ? NLM_F_CAPPED : 0);
    Datagram d;
    put(d, NLMSG_ERROR, kSeq, error_payload(EEXIST, capped, body, "Invalid prefix"), flags);
    auto a = answer_to({d});
    ASSERT_TRUE(a) << a.error().message;
    EXPECT_EQ(a->error, EEXIST);
    EXPECT_EQ(a->kernel_text, "Invalid prefix") << "capped " << capped;
  }
  // Without NLM_F_ACK_TLVS the bytes after the request are not attributes.
  Datagram d;
  put(d, NLMSG_ERROR, kSeq, error_payload(EPERM, true, {}, "ignored"), NLM_F_CAPPED);
  auto a = answer_to({d});
  ASSERT_TRUE(a);
  EXPECT_EQ(a->error, EPERM);
  EXPECT_TRUE(a->kernel_text.empty());
}

TEST(NetlinkReceive, DumpEndCarriesItsError) {
  Datagram d;
  put(d, RTM_NEWROUTE, kSeq, {1, 2, 3, 4});
  put(d, NLMSG_DONE, kSeq, int_payload(-EINTR));
  auto a = answer_to({d});
  ASSERT_TRUE(a) << a.error().message;
  EXPECT_EQ(a->error, EINTR);
  EXPECT_EQ(a->messages.size(), 1u);
}

TEST(NetlinkReceive, OverrunFails) {
  Datagram d;
  put(d, NLMSG_OVERRUN, kSeq, {});
  auto a = answer_to({d});
  ASSERT_FALSE(a);
  EXPECT_NE(a.error().message.find("the test's request"), std::string::npos);
}

TEST(NetlinkReceive, BrokenLengthsEndTheirDatagramOnly) {
  Datagram overlong;
  put(overlong, RTM_NEWLINK, kSeq, {1, 2, 3, 4});
  const uint32_t huge = 1 << 20;
  std::memcpy(overlong.data(), &huge, sizeof huge);
  Datagram short_len;
  put(short_len, RTM_NEWLINK, kSeq, {1, 2, 3, 4});
  const uint32_t tiny = 3;
  std::memcpy(short_len.data(), &tiny, sizeof tiny);
  Datagram stub = {1, 2, 3};  // shorter than a header
  Datagram good;
  put(good, RTM_NEWLINK, kSeq, {4});
  put(good, NLMSG_DONE, kSeq, {});  // a DONE too short for its int: no error
  auto a = answer_to({overlong, short_len, stub, good});
  ASSERT_TRUE(a) << a.error().message;
  EXPECT_EQ(a->error, 0);
  EXPECT_EQ(a->messages.size(), 1u);
}

TEST(NetlinkReceive, RandomBytesNeverReadPastTheDatagram) {
  std::mt19937 rng(12345);
  for (int round = 0; round < 200; ++round) {
    std::vector<Datagram> datagrams;
    for (int i = 0; i < 4; ++i) {
      Datagram d;
      // Well-formed messages with random types, flags and payloads, then random bytes.
      for (int m = 0; m < 3; ++m) {
        Datagram payload(rng() % 64);
        for (auto& b : payload)
          b = static_cast<uint8_t>(rng());
        const uint16_t type = rng() % 4 == 0 ? NLMSG_ERROR : static_cast<uint16_t>(16 + rng() % 8);
        put(d, type, rng() % 2 == 0 ? kSeq : kSeq + 1, payload, static_cast<uint16_t>(rng()));
      }
      for (size_t k = rng() % 40; k > 0; --k)
        d.push_back(static_cast<uint8_t>(rng()));
      datagrams.push_back(std::move(d));
    }
    Datagram end;
    put(end, NLMSG_DONE, kSeq, int_payload(0));
    datagrams.push_back(end);
    Pair p = socket_pair();
    send_all(p, datagrams);
    size_t seen = 0;
    auto r = receive_netlink(p.ours.get(), kSeq, "random", [&](Bytes m) {
      ASSERT_GE(m.size(), NLMSG_HDRLEN);
      ++seen;
    });
    ASSERT_TRUE(r) << r.error().message;  // an ERROR or the DONE ended it
    EXPECT_LE(seen, 12u);
  }
}

}  // namespace
}  // namespace tern::io

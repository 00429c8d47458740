// Sequenced UDP datagrams with Don't Fragment, for the MTU scenarios (issue 4 §6): an
// application that is never left guessing. The sender sends datagrams of a given IP size with
// IP(V6)_MTU_DISCOVER=DO, stop-and-wait: each must be acknowledged. When the kernel refuses a
// send (EMSGSIZE) or reports an ICMP Packet Too Big (IP_RECVERR), the sender reads the path
// MTU (IP_MTU / IPV6_MTU) and retries the same sequence number at that size. A datagram that
// goes unacknowledged with no such signal is a silent loss: the sender exits 1 if any occurs.
//
//   mtu_udp_seq recv ADDRESS PORT COUNT [SECONDS]   exits 0 once 0..COUNT-1 all arrived intact
//   mtu_udp_seq send ADDRESS PORT COUNT IP_SIZE [SECONDS]
#include <arpa/inet.h>
#include <linux/errqueue.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

constexpr uint32_t kData = 0x544d5455;  // "TMTU"
constexpr uint32_t kAck = 0x5441434b;   // "TACK"
constexpr size_t kHeader = 12;          // magic, sequence, length
constexpr int kAttemptsWithoutSignal = 3;

using Clock = std::chrono::steady_clock;

struct Address {
  sockaddr_storage storage{};
  socklen_t length = 0;
  bool v6 = false;
};

bool parse_address(const char* text, int port, Address& a) {
  auto* s4 = reinterpret_cast<sockaddr_in*>(&a.storage);
  auto* s6 = reinterpret_cast<sockaddr_in6*>(&a.storage);
  if (inet_pton(AF_INET, text, &s4->sin_addr) == 1) {
    s4->sin_family = AF_INET;
    s4->sin_port = htons(static_cast<uint16_t>(port));
    a.length = sizeof *s4;
    return true;
  }
  if (inet_pton(AF_INET6, text, &s6->sin6_addr) == 1) {
    s6->sin6_family = AF_INET6;
    s6->sin6_port = htons(static_cast<uint16_t>(port));
    a.length = sizeof *s6;
    a.v6 = true;
    return true;
  }
  return false;
}

void put32(uint8_t* p, uint32_t v) {
  v = htonl(v);
  std::memcpy(p, &v, 4);
}

uint32_t get32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return ntohl(v);
}

uint8_t pattern(uint32_t seq, size_t i) {
  return static_cast<uint8_t>(seq * 31 + i * 7 + 1);
}

int deadline_ms(Clock::time_point end) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - Clock::now());
  return static_cast<int>(std::max<int64_t>(0, left.count()));
}

int receive(const Address& bind_to, uint32_t count, int seconds) {
  const int fd = socket(bind_to.storage.ss_family, SOCK_DGRAM, 0);
  if (fd < 0 || bind(fd, reinterpret_cast<const sockaddr*>(&bind_to.storage), bind_to.length)) {
    std::perror("recv: socket/bind");
    return 2;
  }
  std::vector<bool> seen(count);
  uint32_t distinct = 0, corrupt = 0;
  size_t smallest = SIZE_MAX, largest = 0;
  std::vector<uint8_t> buffer(65536);
  const auto end = Clock::now() + std::chrono::seconds(seconds);
  std::printf("listening\n");
  std::fflush(stdout);
  // After the last one arrives, keep answering for a moment in case an ack was lost.
  Clock::time_point linger_until = Clock::time_point::max();
  while (Clock::now() < std::min(end, linger_until)) {
    pollfd p{fd, POLLIN, 0};
    const int wait =
        std::min(deadline_ms(end),
                 linger_until == Clock::time_point::max() ? 1000 : deadline_ms(linger_until));
    if (poll(&p, 1, wait) <= 0) continue;
    sockaddr_storage from{};
    socklen_t from_length = sizeof from;
    const ssize_t n = recvfrom(fd, buffer.data(), buffer.size(), 0,
                               reinterpret_cast<sockaddr*>(&from), &from_length);
    if (n < static_cast<ssize_t>(kHeader) || get32(buffer.data()) != kData) continue;
    const uint32_t seq = get32(buffer.data() + 4);
    const uint32_t length = get32(buffer.data() + 8);
    bool intact = seq < count && length == static_cast<size_t>(n);
    for (size_t i = kHeader; intact && i < static_cast<size_t>(n); ++i)
      intact = buffer[i] == pattern(seq, i);
    if (!intact) {
      ++corrupt;
      continue;
    }
    if (!seen[seq]) {
      seen[seq] = true;
      ++distinct;
      smallest = std::min(smallest, static_cast<size_t>(n));
      largest = std::max(largest, static_cast<size_t>(n));
    }
    uint8_t ack[8];
    put32(ack, kAck);
    put32(ack + 4, seq);
    (void)sendto(fd, ack, sizeof ack, 0, reinterpret_cast<sockaddr*>(&from), from_length);
    if (distinct == count && linger_until == Clock::time_point::max())
      linger_until = Clock::now() + std::chrono::milliseconds(500);
  }
  std::printf("received %u/%u distinct, %u corrupt, payload sizes %zu..%zu\n", distinct, count,
              corrupt, distinct ? smallest : 0, largest);
  return distinct == count && corrupt == 0 ? 0 : 1;
}

// The path MTU the kernel now holds for the connected socket.
int path_mtu(int fd, bool v6) {
  int mtu = 0;
  socklen_t length = sizeof mtu;
  const int r = v6 ? getsockopt(fd, IPPROTO_IPV6, IPV6_MTU, &mtu, &length)
                   : getsockopt(fd, IPPROTO_IP, IP_MTU, &mtu, &length);
  return r == 0 ? mtu : 0;
}

struct Signals {
  unsigned emsgsize = 0;  // send() refused the size
  unsigned ptb = 0;       // an ICMP Packet Too Big came back for a sent datagram
  unsigned silent = 0;    // no acknowledgement and no signal
  unsigned other = 0;     // other errors (the receiver not listening yet)
};

// Drains the error queue; true if it held a "too big" for us. Other errors are counted.
bool read_errors(int fd, Signals& s, size_t& mtu_hint) {
  bool too_big = false;
  for (int i = 0; i < 16; ++i) {
    uint8_t data[2048];
    uint8_t control[512];
    iovec iov{data, sizeof data};
    msghdr m{};
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    m.msg_control = control;
    m.msg_controllen = sizeof control;
    if (recvmsg(fd, &m, MSG_ERRQUEUE | MSG_DONTWAIT) < 0) break;
    for (cmsghdr* c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c)) {
      const bool recverr = (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_RECVERR) ||
                           (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_RECVERR);
      if (!recverr) continue;
      sock_extended_err e;
      std::memcpy(&e, CMSG_DATA(c), sizeof e);
      if (e.ee_errno == EMSGSIZE) {
        too_big = true;
        if (e.ee_info > 0) mtu_hint = std::min<size_t>(mtu_hint, e.ee_info);
      } else {
        ++s.other;
      }
    }
  }
  int pending = 0;
  socklen_t length = sizeof pending;
  (void)getsockopt(fd, SOL_SOCKET, SO_ERROR, &pending, &length);  // clears sk_err
  if (too_big) ++s.ptb;
  return too_big;
}

int send_all(const Address& to, uint32_t count, size_t ip_size, int seconds) {
  const int fd = socket(to.storage.ss_family, SOCK_DGRAM, 0);
  const int on = 1;
  const int pmtu_do = to.v6 ? IPV6_PMTUDISC_DO : IP_PMTUDISC_DO;
  const bool configured =
      fd >= 0 &&
      (to.v6 ? setsockopt(fd, IPPROTO_IPV6, IPV6_MTU_DISCOVER, &pmtu_do, sizeof pmtu_do) == 0 &&
                   setsockopt(fd, IPPROTO_IPV6, IPV6_RECVERR, &on, sizeof on) == 0
             : setsockopt(fd, IPPROTO_IP, IP_MTU_DISCOVER, &pmtu_do, sizeof pmtu_do) == 0 &&
                   setsockopt(fd, IPPROTO_IP, IP_RECVERR, &on, sizeof on) == 0);
  if (!configured || connect(fd, reinterpret_cast<const sockaddr*>(&to.storage), to.length)) {
    std::perror("send: socket/setsockopt/connect");
    return 2;
  }
  const size_t headers = (to.v6 ? 40 : 20) + 8;
  const auto end = Clock::now() + std::chrono::seconds(seconds);
  Signals s;
  size_t size = ip_size;
  size_t smallest = ip_size;
  std::vector<uint8_t> buffer(65536);
  uint32_t acked = 0;
  for (uint32_t seq = 0; seq < count && Clock::now() < end; ++seq) {
    int unsignalled = 0;
    bool done = false;
    while (!done && Clock::now() < end && unsignalled < kAttemptsWithoutSignal) {
      if (size < headers + kHeader) {
        std::fprintf(stderr, "send: path MTU %zu leaves no room\n", size);
        return 1;
      }
      const size_t payload = size - headers;
      put32(buffer.data(), kData);
      put32(buffer.data() + 4, seq);
      put32(buffer.data() + 8, static_cast<uint32_t>(payload));
      for (size_t i = kHeader; i < payload; ++i)
        buffer[i] = pattern(seq, i);
      if (send(fd, buffer.data(), payload, 0) < 0) {
        if (errno == EMSGSIZE) {
          ++s.emsgsize;
          const int mtu = path_mtu(fd, to.v6);
          if (mtu <= 0 || static_cast<size_t>(mtu) >= size) {
            std::fprintf(stderr, "send: EMSGSIZE at %zu but IP_MTU says %d\n", size, mtu);
            return 1;
          }
          size = static_cast<size_t>(mtu);
          continue;
        }
        size_t hint = size;
        if (read_errors(fd, s, hint)) {
          const int mtu = path_mtu(fd, to.v6);
          size = std::min(hint, mtu > 0 ? static_cast<size_t>(mtu) : hint);
        } else {
          usleep(20000);
        }
        continue;
      }
      // Wait for the ack, or for an error about this datagram.
      const auto give_up = std::min(end, Clock::now() + std::chrono::milliseconds(1000));
      bool signalled = false;
      while (!done && !signalled && Clock::now() < give_up) {
        pollfd p{fd, POLLIN, 0};
        if (poll(&p, 1, deadline_ms(give_up)) <= 0) continue;
        if (p.revents & POLLERR) {
          size_t hint = size;
          if (read_errors(fd, s, hint)) {
            const int mtu = path_mtu(fd, to.v6);
            size = std::min(hint, mtu > 0 ? static_cast<size_t>(mtu) : hint);
            signalled = true;
          } else {
            usleep(20000);  // e.g. refused: the receiver is not there yet; resend
            signalled = true;
          }
          continue;
        }
        uint8_t ack[8];
        const ssize_t n = recv(fd, ack, sizeof ack, MSG_DONTWAIT);
        if (n == 8 && get32(ack) == kAck && get32(ack + 4) == seq) done = true;
      }
      if (!done && !signalled) {
        ++s.silent;
        ++unsignalled;
        std::fprintf(stderr, "send: seq %u of %zu bytes lost without a signal\n", seq, size);
      }
    }
    if (!done) break;
    ++acked;
    smallest = std::min(smallest, size);
  }
  std::printf(
      "sent %u/%u acknowledged; EMSGSIZE %u, Packet Too Big %u, silent losses %u, other "
      "errors %u; IP size %zu -> %zu\n",
      acked, count, s.emsgsize, s.ptb, s.silent, s.other, ip_size, smallest);
  return acked == count && s.silent == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "";
  Address a;
  if ((mode == "recv" && (argc == 5 || argc == 6)) ||
      (mode == "send" && (argc == 6 || argc == 7))) {
    if (!parse_address(argv[2], std::atoi(argv[3]), a)) {
      std::fprintf(stderr, "not an address: %s\n", argv[2]);
      return 2;
    }
    const auto count = static_cast<uint32_t>(std::strtoul(argv[4], nullptr, 10));
    if (mode == "recv") return receive(a, count, argc == 6 ? std::atoi(argv[5]) : 30);
    return send_all(a, count, std::strtoul(argv[5], nullptr, 10),
                    argc == 7 ? std::atoi(argv[6]) : 30);
  }
  std::fprintf(stderr,
               "usage: %s recv ADDRESS PORT COUNT [SECONDS]\n"
               "       %s send ADDRESS PORT COUNT IP_SIZE [SECONDS]\n",
               argv[0], argv[0]);
  return 2;
}

// A hostile or broken STUN/TURN server over UDP, for the doctor's robustness scenario (issue 6
// §5): it answers every STUN request (Binding, Allocate, anything) wrongly in one chosen way.
// The doctor must end with a finding or an error, never crash or hang.
//
//   hostile_stun --listen IPV4:PORT --mode MODE [--seconds N] [--seed S] [--binding-ok]
//
// --binding-ok (last) answers Binding requests correctly, so that a TURN client gets as far as
// Allocate and meets the hostile answers there.
//
// Modes: garbage, truncated, bad_attrs, oversized, wrong_source, wrong_txid, error_flood, and
// silent (reads every request and answers none: the twin of the faults, which the doctor must
// still call unreachable); see kModes. Exits 0 after --seconds (default 60), saying on stderr
// how many it answered.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace {

constexpr uint32_t kMagic = 0x2112A442;
constexpr size_t kHeader = 20;
constexpr uint16_t kXorMappedAddress = 0x0020;
constexpr uint16_t kXorRelayedAddress = 0x0016;
constexpr uint16_t kLifetime = 0x000D;
constexpr uint16_t kErrorCode = 0x0009;
constexpr uint16_t kSuccessClass = 0x0100;
constexpr uint16_t kErrorClass = 0x0110;
constexpr size_t kOversized = 65000;

constexpr std::string_view kModes[] = {"garbage",      "truncated",  "bad_attrs",   "oversized",
                                       "wrong_source", "wrong_txid", "error_flood", "silent"};

using Clock = std::chrono::steady_clock;
using Bytes = std::vector<uint8_t>;

void put16(Bytes& b, uint16_t v) {
  b.push_back(static_cast<uint8_t>(v >> 8));
  b.push_back(static_cast<uint8_t>(v));
}
void put32(Bytes& b, uint32_t v) {
  put16(b, static_cast<uint16_t>(v >> 16));
  put16(b, static_cast<uint16_t>(v));
}

// A STUN message: header with TYPE and TXID, the length field set from the body unless forced.
struct Message {
  Bytes bytes;
  Message(uint16_t type, const uint8_t* txid) {
    put16(bytes, type);
    put16(bytes, 0);
    put32(bytes, kMagic);
    bytes.insert(bytes.end(), txid, txid + 12);
  }
  void attr(uint16_t type, const Bytes& value) {
    put16(bytes, type);
    put16(bytes, static_cast<uint16_t>(value.size()));
    bytes.insert(bytes.end(), value.begin(), value.end());
    while (bytes.size() % 4 != 0)
      bytes.push_back(0);
  }
  Bytes finish() {
    set_length(static_cast<uint16_t>(bytes.size() - kHeader));
    return bytes;
  }
  void set_length(uint16_t length) {
    bytes[2] = static_cast<uint8_t>(length >> 8);
    bytes[3] = static_cast<uint8_t>(length);
  }
};

// XOR-MAPPED-ADDRESS value (RFC 5389 §15.2) for an IPv4 address, with FAMILY and extra bytes
// appended when a mode wants it wrong.
Bytes xor_address(const sockaddr_in& a, uint8_t family = 0x01, size_t extra = 0) {
  Bytes v;
  v.push_back(0);
  v.push_back(family);
  put16(v, static_cast<uint16_t>(ntohs(a.sin_port) ^ (kMagic >> 16)));
  put32(v, ntohl(a.sin_addr.s_addr) ^ kMagic);
  v.resize(v.size() + extra, 0xAB);
  return v;
}

Bytes lifetime(uint32_t seconds) {
  Bytes v;
  put32(v, seconds);
  return v;
}

// A plausible success answer: the mapped address, and for Allocate a relayed one and a lifetime.
Bytes success(uint16_t method, const uint8_t* txid, const sockaddr_in& from,
              const sockaddr_in& self) {
  Message m(static_cast<uint16_t>(method | kSuccessClass), txid);
  if (method == 0x003) {
    m.attr(kXorRelayedAddress, xor_address(self));
    m.attr(kLifetime, lifetime(600));
  }
  m.attr(kXorMappedAddress, xor_address(from));
  return m.finish();
}

struct Server {
  std::string mode;
  bool binding_ok = false;  // Binding gets a correct answer, only the other methods a hostile one
  int fd = -1;
  int other_fd = -1;  // wrong_source answers from here
  sockaddr_in self{};
  std::mt19937 rng;
  unsigned count = 0;

  Bytes garbage() {
    Bytes b(1 + rng() % 600);
    for (auto& x : b)
      x = static_cast<uint8_t>(rng());
    return b;
  }

  // The request's header fields are valid here: a Binding/Allocate/etc. with our magic cookie.
  Bytes answer(uint16_t method, const uint8_t* txid, const sockaddr_in& from) {
    if (mode == "garbage") return garbage();
    if (mode == "truncated") {
      // The header claims a body far beyond what arrives; what does arrive is half an attribute.
      Message m(static_cast<uint16_t>(method | kSuccessClass), txid);
      Bytes b = m.bytes;
      const uint16_t claimed = static_cast<uint16_t>(4 * (1 + rng() % 4000));
      b[2] = static_cast<uint8_t>(claimed >> 8);
      b[3] = static_cast<uint8_t>(claimed);
      const Bytes half = xor_address(from);
      put16(b, kXorMappedAddress);
      put16(b, 8);
      b.insert(b.end(), half.begin(), half.begin() + static_cast<long>(count % 8));
      return b;
    }
    if (mode == "bad_attrs") return bad_attrs(method, txid, from);
    if (mode == "oversized") {
      Message m(static_cast<uint16_t>(method | kSuccessClass), txid);
      m.attr(kXorMappedAddress, xor_address(from));
      // One comprehension-optional attribute fills the datagram up to kOversized bytes.
      m.attr(0xC0FE, Bytes(kOversized - m.bytes.size() - 4, 0x5A));
      return m.finish();
    }
    if (mode == "wrong_source") return success(method, txid, from, self);
    if (mode == "wrong_txid") {
      uint8_t other[12];
      for (int i = 0; i < 12; ++i)
        other[i] = static_cast<uint8_t>(txid[i] ^ (i == 11 ? 1 : 0));
      if (count % 2 == 1)
        for (auto& x : other)
          x = static_cast<uint8_t>(rng());
      return success(method, other, from, self);
    }
    // error_flood: a long reason in ERROR-CODE and unknown comprehension-required attributes.
    static constexpr uint16_t kCodes[] = {400, 401, 438, 500, 420};
    const uint16_t code = kCodes[count % 5];
    Message m(static_cast<uint16_t>(method | kErrorClass), txid);
    Bytes ec = {0, 0, static_cast<uint8_t>(code / 100), static_cast<uint8_t>(code % 100)};
    ec.resize(ec.size() + 4000 + rng() % 20000, 'A');
    m.attr(kErrorCode, ec);
    for (uint16_t t = 0; t < 200; ++t)
      m.attr(static_cast<uint16_t>(0x7E00 + t), Bytes(8, 0xEE));
    return m.finish();
  }

  // A success with the right transaction ID whose attributes are wrong, a different way each
  // answer so that retransmissions meet them all.
  Bytes bad_attrs(uint16_t method, const uint8_t* txid, const sockaddr_in& from) {
    Message m(static_cast<uint16_t>(method | kSuccessClass), txid);
    switch (count % 7) {
      case 0: {  // an attribute whose length runs past the end of the message
        m.attr(kXorMappedAddress, xor_address(from));
        put16(m.bytes, kXorRelayedAddress);
        put16(m.bytes, 0xFFF0);
        put32(m.bytes, 0);
        return m.finish();
      }
      case 1:  // the same attribute twice, different values
        m.attr(kXorMappedAddress, xor_address(self));
        m.attr(kXorMappedAddress, xor_address(from));
        if (method == 0x003) {
          m.attr(kLifetime, lifetime(0));
          m.attr(kLifetime, lifetime(0xFFFFFFFF));
        }
        return m.finish();
      case 2:  // unknown family
        m.attr(kXorMappedAddress, xor_address(from, 0x03));
        return m.finish();
      case 3:  // IPv6 family with an IPv4-sized value
        m.attr(kXorMappedAddress, xor_address(from, 0x02));
        return m.finish();
      case 4:  // IPv4 family with a length that is neither 8 nor 20
        m.attr(kXorMappedAddress, xor_address(from, 0x01, 5));
        return m.finish();
      case 5: {  // a zero-length address and a length field not a multiple of 4
        m.attr(kXorMappedAddress, Bytes{});
        Bytes b = m.finish();
        b.push_back(0);
        b[3] = static_cast<uint8_t>(b[3] + 1);
        return b;
      }
      default:  // attribute header cut in the middle
        m.attr(kXorMappedAddress, xor_address(from));
        put16(m.bytes, kLifetime);
        m.set_length(static_cast<uint16_t>(m.bytes.size() - kHeader));
        return m.bytes;
    }
  }

  void serve(const uint8_t* data, size_t size, const sockaddr_in& from) {
    // STUN: two zero top bits, the magic cookie, a request class (RFC 5389 §6).
    if (size < kHeader || (data[0] & 0xC0) != 0) return;
    uint32_t magic;
    std::memcpy(&magic, data + 4, 4);
    if (ntohl(magic) != kMagic) return;
    const uint16_t type = static_cast<uint16_t>(data[0] << 8 | data[1]);
    if ((type & kErrorClass) != 0) return;
    const uint16_t method = static_cast<uint16_t>(type & ~kErrorClass);
    const bool honest = binding_ok && method == 0x001;
    if (!honest && mode == "silent") {
      ++count;
      return;
    }
    const Bytes out =
        honest ? success(method, data + 8, from, self) : answer(method, data + 8, from);
    ++count;
    const int via = !honest && mode == "wrong_source" ? other_fd : fd;
    if (sendto(via, out.data(), out.size(), 0, reinterpret_cast<const sockaddr*>(&from),
               sizeof from) < 0)
      std::perror("hostile_stun: sendto");
  }
};

int usage() {
  std::fprintf(
      stderr,
      "usage: hostile_stun --listen IPV4:PORT --mode MODE [--seconds N] [--seed S] [--binding-ok]\n"
      "modes: garbage truncated bad_attrs oversized wrong_source wrong_txid "
      "error_flood silent\n");
  return 2;
}

int bind_udp(const sockaddr_in& a) {
  const int fd = socket(AF_INET, SOCK_DGRAM, 0);
  if (fd < 0) return -1;
  const int big = 1 << 20;
  setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &big, sizeof big);
  if (bind(fd, reinterpret_cast<const sockaddr*>(&a), sizeof a) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

}  // namespace

int main(int argc, char** argv) {
  std::string listen, mode;
  long seconds = 60;
  unsigned long seed = static_cast<unsigned long>(Clock::now().time_since_epoch().count());
  bool binding_ok = false;
  if (argc > 1 && std::string_view(argv[argc - 1]) == "--binding-ok") {
    binding_ok = true;
    --argc;
  }
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string_view k = argv[i];
    if (k == "--listen")
      listen = argv[i + 1];
    else if (k == "--mode")
      mode = argv[i + 1];
    else if (k == "--seconds")
      seconds = std::strtol(argv[i + 1], nullptr, 10);
    else if (k == "--seed")
      seed = std::strtoul(argv[i + 1], nullptr, 10);
    else
      return usage();
  }
  if (argc % 2 == 0) return usage();
  bool known = false;
  for (auto m : kModes)
    known = known || m == mode;
  const auto colon = listen.rfind(':');
  if (!known || colon == std::string::npos || seconds <= 0) return usage();

  Server s;
  s.mode = mode;
  s.binding_ok = binding_ok;
  s.rng.seed(static_cast<std::mt19937::result_type>(seed));
  s.self.sin_family = AF_INET;
  s.self.sin_port = htons(static_cast<uint16_t>(std::atoi(listen.c_str() + colon + 1)));
  if (inet_pton(AF_INET, listen.substr(0, colon).c_str(), &s.self.sin_addr) != 1) return usage();
  s.fd = bind_udp(s.self);
  sockaddr_in other = s.self;
  other.sin_port = 0;
  s.other_fd = bind_udp(other);
  if (s.fd < 0 || s.other_fd < 0) {
    std::perror("hostile_stun: bind");
    return 1;
  }
  std::fprintf(stderr, "hostile_stun: %s on %s for %ld s\n", mode.c_str(), listen.c_str(), seconds);

  const auto end = Clock::now() + std::chrono::seconds(seconds);
  std::vector<uint8_t> buf(65536);
  while (true) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(end - Clock::now()).count();
    if (left <= 0) break;
    pollfd p{s.fd, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(left)) <= 0) continue;
    sockaddr_in from{};
    socklen_t len = sizeof from;
    const ssize_t n =
        recvfrom(s.fd, buf.data(), buf.size(), 0, reinterpret_cast<sockaddr*>(&from), &len);
    if (n < 0 || from.sin_family != AF_INET) continue;
    s.serve(buf.data(), static_cast<size_t>(n), from);
  }
  std::fprintf(stderr, "hostile_stun: %s answered %u requests\n", mode.c_str(), s.count);
  close(s.other_fd);
  close(s.fd);
  return 0;
}

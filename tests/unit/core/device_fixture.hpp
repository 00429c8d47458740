// Two sans-I/O devices wired together on a fake clock, for the device tests of the path MTU,
// the TUN boundary and the relayed path. A (10.0.0.1, fd00::1) and B (10.0.0.2, fd00::2) are
// each other's peer and A knows B's endpoint. The link between them carries every datagram
// unless larger than link_mtu_ (then it is silently gone, no ICMP); a test shapes it further
// by overriding put() (refusals on the host, a relay's framing, dropped probes).
#pragma once

#include <gtest/gtest.h>

#include <cstring>
#include <functional>
#include <optional>
#include <vector>

#include "core/device.hpp"
#include "crypto/x25519.hpp"
#include "wire/path_probe.hpp"

namespace tern::core::test {

using namespace std::chrono_literals;

inline const Endpoint kAddrA = *Endpoint::parse("192.0.2.1:51820");
inline const Endpoint kAddrB = *Endpoint::parse("192.0.2.2:51820");

// An IPv4 packet of `total` bytes: a 20-byte header, the rest filler.
inline std::vector<uint8_t> ipv4_packet(const char* src, const char* dst, size_t total,
                                        uint8_t proto = 17, bool df = false) {
  std::vector<uint8_t> p(total, 0x5a);
  p[0] = 0x45;
  p[1] = 0;
  p[2] = static_cast<uint8_t>(total >> 8);
  p[3] = static_cast<uint8_t>(total);
  p[4] = 0x12;
  p[5] = 0x34;
  p[6] = df ? 0x40 : 0;
  p[7] = 0;
  p[8] = 64;
  p[9] = proto;
  p[10] = p[11] = 0;
  std::memcpy(&p[12], IpAddress::parse(src)->data(), 4);
  std::memcpy(&p[16], IpAddress::parse(dst)->data(), 4);
  return p;
}

struct Datagram {
  Endpoint from, to;
  std::vector<uint8_t> bytes;
};

struct Side {
  explicit Side(Endpoint addr) : device(crypto::generate_private_key()), address(addr) {}
  Device device;
  Endpoint address;
  const char* inner = "";  // its tunnel address
  std::vector<DeviceEvent> events;
  size_t delivered = 0;
  std::vector<std::vector<uint8_t>> packets;  // the first inner packets delivered
};

struct PairConfig {
  Endpoint b_address = kAddrB;
  size_t mtu = 1500;                   // both TUN MTUs
  bool discovery = true;               // path MTU discovery on both sides
  std::optional<size_t> max_path_mtu;  // Device::set_max_path_mtu on both sides
  size_t link_mtu = 65535;
};

class DevicePair {
 public:
  explicit DevicePair(const PairConfig& c = {})
      : a_(kAddrA), b_(c.b_address), link_mtu_(c.link_mtu) {
    a_.inner = "10.0.0.1";
    b_.inner = "10.0.0.2";
    for (Side* s : {&a_, &b_}) {
      s->device.set_wall_clock(WallTime{1'700'000'000'000'000'000}, now_);
      s->device.set_mtu(c.mtu);
      if (c.max_path_mtu) s->device.set_max_path_mtu(*c.max_path_mtu);
      if (c.discovery) s->device.set_path_mtu_discovery(true, now_);
    }
    pa_ = *a_.device.add_peer(b_.device.public_key());
    pb_ = *b_.device.add_peer(a_.device.public_key());
    a_.device.add_allowed_ip(pa_, *IpPrefix::parse("10.0.0.2/32"));
    a_.device.add_allowed_ip(pa_, *IpPrefix::parse("fd00::2/128"));
    b_.device.add_allowed_ip(pb_, *IpPrefix::parse("10.0.0.1/32"));
    b_.device.add_allowed_ip(pb_, *IpPrefix::parse("fd00::1/128"));
    a_.device.set_endpoint(pa_, b_.address);
  }
  DevicePair(const DevicePair&) = delete;
  DevicePair& operator=(const DevicePair&) = delete;
  virtual ~DevicePair() = default;

  void enable(Side& s) { s.device.set_path_mtu_discovery(true, now_); }
  Side& other(const Side& s) { return &s == &a_ ? b_ : a_; }
  // IP + UDP around a datagram, by B's family (A's address is IPv4 in every test).
  size_t headers() const { return b_.address.address.is_v6() ? 48 : 28; }

  // An inner packet from `s`'s TUN; what the device sends goes onto the link.
  SendResult send_packet(Side& s, const std::vector<uint8_t>& packet) {
    std::vector<uint8_t> buf(kSendHeadroom + packet.size() + kSendTailroom);
    std::memcpy(buf.data() + kSendHeadroom, packet.data(), packet.size());
    auto r = s.device.send_packet(buf, packet.size(), now_);
    if (r.kind == SendResult::Kind::kSend) {
      put({s.address, r.to, std::vector<uint8_t>(buf.begin(), buf.begin() + r.length)});
    }
    collect(s);
    return r;
  }
  // A UDP packet of `total` bytes to the other side, without DF.
  SendResult send(Side& s, size_t total) {
    return send_packet(s, ipv4_packet(s.inner, other(s).inner, total));
  }

  // The link. Overrides call DevicePair::put for what they let through.
  virtual void put(Datagram d) {
    ++sent_;
    if (wire::is_path_probe(d.bytes)) ++probes_;
    if (d.bytes.size() + headers() > link_mtu_) return;  // too big: silently gone
    wire_.push_back(std::move(d));
  }

  void collect(Side& s) {
    while (auto t = s.device.poll_transmit(now_)) {
      put({s.address, t->to, std::vector<uint8_t>(t->data.begin(), t->data.end())});
    }
    while (auto e = s.device.poll_event())
      s.events.push_back(*e);
  }
  void collect() {
    collect(a_);
    collect(b_);
  }

  // Delivers what is on the wire, and what the devices answer, until nothing is left.
  void run() {
    for (unsigned i = 0; i < 10000 && !wire_.empty(); ++i) {
      Datagram d = std::move(wire_.front());
      wire_.erase(wire_.begin());
      Side* dst = d.to == a_.address ? &a_ : d.to == b_.address ? &b_ : nullptr;
      if (!dst) continue;
      auto r = dst->device.receive_datagram(d.from, d.bytes, now_);
      if (r.kind == ReceiveResult::Kind::kDeliver) {
        ++dst->delivered;
        if (dst->packets.size() < 64) dst->packets.emplace_back(r.packet.begin(), r.packet.end());
      }
      collect(*dst);
    }
  }

  // A first packet from A: the handshake.
  void connect() {
    send(a_, 100);
    run();
    ASSERT_NE(a_.device.peer_info(pa_)->last_handshake, std::nullopt);
  }

  // Time passes in steps; each step A sends a `data`-byte packet (0: none), so that
  // confirmation probes run.
  void live(Duration total, size_t data = 200, Duration step = 100ms) {
    for (Duration t{0}; t < total; t += step) {
      now_ += step;
      for (Side* s : {&a_, &b_}) {
        s->device.handle_timeout(now_);
        collect(*s);
      }
      if (data != 0) send(a_, data);
      run();
    }
  }

  // Steps until `done` holds, at most `limit`; returns the time it took.
  std::optional<Duration> until(const std::function<bool()>& done, Duration limit) {
    const Instant start = now_;
    while (now_ - start <= limit) {
      if (done()) return now_ - start;
      live(100ms);
    }
    return std::nullopt;
  }

  PeerInfo info() const { return *a_.device.peer_info(pa_); }

  Instant now_ = instant_from_ns(5'000'000'000);
  Side a_, b_;
  PeerId pa_ = 0, pb_ = 0;
  std::vector<Datagram> wire_;
  size_t link_mtu_;
  size_t sent_ = 0;
  size_t probes_ = 0;
};

}  // namespace tern::core::test

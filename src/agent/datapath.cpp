// Packet flow, per batch:
//   TUN:  read_batch -> Device::send_packet (route, encrypt in place) -> SendBatch
//         -> sendmmsg
//   UDP:  recvmmsg -> Device::receive_datagram (decrypt in place) -> TUN write
//   both: Device::poll_transmit (handshakes, keepalives, staged packets) -> SendBatch
#include "agent/datapath.hpp"

#include <poll.h>

#include <cstring>

#include "agent/agent_state.hpp"
#include "base/log.hpp"

namespace tern::agent {
namespace {

// Batches per wakeup, so one direction cannot starve the other.
constexpr int kMaxBatchesPerWakeup = 8;
// How long a full socket buffer may hold the loop before the rest counts as dropped.
constexpr int kSendBlockMs = 50;

MutableBytes tun_slot(Agent::State& s, size_t i) {
  return MutableBytes(s.tun_slots.data() + i * s.slot_size, s.slot_size);
}

// Sends the batch; waits (briefly) for the socket when its buffer is full, counts
// every datagram that could not be sent.
void send_batch(Agent::State& s) {
  size_t done = 0;
  while (done < s.send.size()) {
    auto sent = s.udp.send(s.send, done);
    if (!sent) {
      log::warn("UDP send failed: {}", sent.error().message);
      break;
    }
    for (size_t i = done; i < done + *sent; ++i) {
      if (s.send.error(i) != 0) s.device.count_drop(DropReason::kSendFailed, s.send.to(i));
    }
    done += *sent;
    if (done < s.send.size()) {
      pollfd p{s.udp.fd(), POLLOUT, 0};
      if (::poll(&p, 1, kSendBlockMs) <= 0) break;
    }
  }
  for (size_t i = done; i < s.send.size(); ++i) {
    s.device.count_drop(DropReason::kSendFailed, s.send.to(i));
  }
  s.send.clear();
  s.ctrl_used = 0;
}

void add_to_batch(Agent::State& s, const Endpoint& to, Bytes data) {
  if (s.send.full()) send_batch(s);
  (void)s.send.add(to, data);  // cannot fail: the batch was just emptied if full
}

}  // namespace

void init_datapath(Agent::State& s) {
  // Room for the WireGuard header before the packet and padding + tag after it.
  s.slot_size = (core::kSendHeadroom + s.mtu + core::kSendTailroom + 63) & ~size_t{63};
  s.tun_slots.assign(kBatchSize * s.slot_size, 0);
  s.ctrl_slots.assign(s.send.capacity() * s.slot_size, 0);
}

void flush_transmits(Agent::State& s, Instant now) {
  while (auto t = s.device.poll_transmit(now)) {
    if (s.send.full() || s.ctrl_used == s.send.capacity()) send_batch(s);
    if (t->data.size() > s.slot_size) {
      s.device.count_drop(DropReason::kSendFailed, t->to);
      continue;
    }
    // poll_transmit's bytes live only until the next call: copy them.
    uint8_t* slot = s.ctrl_slots.data() + s.ctrl_used * s.slot_size;
    std::memcpy(slot, t->data.data(), t->data.size());
    ++s.ctrl_used;
    add_to_batch(s, t->to, Bytes(slot, t->data.size()));
  }
  if (!s.send.empty()) send_batch(s);
}

void pump_tun(Agent::State& s, Instant now) {
  MutableBytes bufs[kBatchSize];
  size_t lens[kBatchSize];
  for (size_t i = 0; i < kBatchSize; ++i) {
    bufs[i] = tun_slot(s, i).subspan(core::kSendHeadroom, s.mtu + 1);
  }
  for (int round = 0; round < kMaxBatchesPerWakeup; ++round) {
    auto n = s.tun.read_batch(bufs, lens);
    if (!n) {
      log::warn("reading the TUN failed: {}", n.error().message);
      return;
    }
    for (size_t i = 0; i < *n; ++i) {
      auto r = s.device.send_packet(tun_slot(s, i), lens[i], now);
      if (r.kind == core::SendResult::Kind::kSend) {
        add_to_batch(s, r.to, Bytes(tun_slot(s, i).data(), r.length));
      }
    }
    // The slots are reused by the next read: send what refers to them first.
    flush_transmits(s, now);
    if (*n < kBatchSize) return;
  }
}

void pump_udp(Agent::State& s, Instant now) {
  for (int round = 0; round < kMaxBatchesPerWakeup; ++round) {
    auto n = s.udp.recv(s.recv);
    if (!n) {
      log::warn("receiving from the UDP socket failed: {}", n.error().message);
      return;
    }
    for (size_t i = 0; i < *n; ++i) {
      if (s.recv.truncated(i)) {
        s.device.count_drop(DropReason::kMalformed);
        continue;
      }
      auto r = s.device.receive_datagram(s.recv.from(i), s.recv.mutable_data(i), now);
      if (r.kind != core::ReceiveResult::Kind::kDeliver) continue;
      auto w = s.tun.write(r.packet);
      if (!w || *w == 0) s.device.count_drop(DropReason::kTunWriteFailed);
    }
    flush_transmits(s, now);
    if (*n < s.recv.capacity()) return;
  }
}

}  // namespace tern::agent

// Packet flow, per batch:
//   TUN:  read a frame -> (TSO: cut into packets, wire/gso_split) -> a slot each
//         -> Device::send_packet (route, encrypt in place) -> SendBatch -> sendmmsg, where
//         runs of equal-size datagrams to one peer leave as one UDP GSO message
//   UDP:  recvmmsg (UDP GRO: trains of datagrams) -> Device::receive_datagram (decrypt in
//         place) -> packets of one TCP (or UDP) flow coalesced (wire/gro) -> one TUN write
//         a train
//   both: Device::poll_transmit (handshakes, keepalives, staged packets, path probes, IPv4
//         fragments of packets over a peer's MTU) -> SendBatch; Device::poll_tun_write (Packet
//         Too Big for local senders) -> TUN
// Sizes are checked per packet in send_packet, after a TSO frame was cut: a segment over its
// peer's MTU meets the TUN boundary like any other packet.
// Without offloads (an old kernel) the same flow runs a packet at a time at either end.
// A peer reached through the TURN relay ([Relay], relay_link.hpp): its messages are framed in
// place in their slots (ChannelData or a Send indication) and leave on the relay's socket in
// the same wakeup; the relay's datagrams (over TCP/TLS: the frames in the stream's receive
// buffer) are unframed in place and go into the device as if the peer had sent them, then the
// same way to the TUN.
#include "agent/datapath.hpp"

#include <poll.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>

#include "agent/agent_state.hpp"
#include "base/log.hpp"
#include "io/clock.hpp"
#include "wire/gso_split.hpp"
#include "wire/virtio_net.hpp"

namespace tern::agent {
namespace {

// Work per wakeup, so one direction cannot starve the other.
constexpr int kMaxBatchesPerWakeup = 8;
// How long a full socket buffer may hold the loop before the rest counts as dropped.
constexpr int kSendBlockMs = 50;
// Packets a 64 KiB TSO frame makes at a 1280-byte MTU.
constexpr size_t kSlotsPerFrame = 54;
constexpr size_t kMaxFramesPerWakeup = kMaxBatchesPerWakeup * kTunSlots;
// A GRO train is written as its virtio-net header and one part per packet.
static_assert(wire::Gro::kMaxTrain + 1 <= io::Tun::kMaxWriteParts);

MutableBytes tun_slot(Agent::State& s, size_t i) {
  return MutableBytes(s.tun_slots.data() + i * s.slot_size + kRelayHeadroom,
                      s.slot_size - kRelayHeadroom - kRelayTailroom);
}

// Where a packet goes in its slot: after the room for the WireGuard header, before the room
// for padding and tag.
MutableBytes slot_packet_area(Agent::State& s, size_t i) {
  const MutableBytes slot = tun_slot(s, i);
  return slot.subspan(core::kSendHeadroom, slot.size() - core::kSendHeadroom - core::kSendTailroom);
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
      const int err = s.send.error(i);
      if (err == EMSGSIZE) {
        // Larger than the outgoing interface: a hint for the peer's PMTU search.
        s.device.on_send_too_big(s.send.to(i), s.send.data(i).size(), io::monotonic_now());
      } else if (err != 0) {
        s.device.count_drop(DropReason::kSendFailed, s.send.to(i));
      }
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
  // The relay's batch refers to the same slots.
  if (s.relay) s.relay->flush(s.device);
  s.ctrl_used = 0;
}

// `data` lies in a slot, with room around it for a relay's framing.
void add_to_batch(Agent::State& s, const Endpoint& to, MutableBytes data, Instant now) {
  if (s.relay && s.relay->carries(to)) {
    if (s.relay->batch_full()) send_batch(s);
    (void)s.relay->queue(s.device, to, data, now);  // a failure is counted
    return;
  }
  if (s.send.full()) send_batch(s);
  (void)s.send.add(to, data);  // cannot fail: the batch was just emptied if full
}

// Encrypts the packets in slots [0, used) and sends them with whatever the device queued.
void send_slots(Agent::State& s, size_t used, Instant now) {
  for (size_t i = 0; i < used; ++i) {
    auto r = s.device.send_packet(tun_slot(s, i), s.tun_lens[i], now);
    if (r.kind == core::SendResult::Kind::kSend) {
      add_to_batch(s, r.to, tun_slot(s, i).first(r.length), now);
    }
  }
  // The slots are reused next: send what refers to them first.
  flush_transmits(s, now);
}

// Puts one TUN frame (virtio-net header and packet) into the slots from `used` on, sending
// full batches on the way; returns the slots now used.
size_t slot_frame(Agent::State& s, Bytes frame, size_t used, Instant now) {
  auto header = wire::parse_virtio_net_header(frame);
  if (!header) {
    s.device.count_drop(DropReason::kMalformed);
    return used;
  }
  const Bytes packet = frame.subspan(wire::kVirtioNetHeaderSize);
  const size_t room = slot_packet_area(s, 0).size();
  if (header->gso_type == wire::kVirtioNetGsoNone) {
    if (packet.size() > room) {
      s.device.count_drop(DropReason::kMalformed);
      return used;
    }
    if (used == kTunSlots) {
      send_slots(s, used, now);
      used = 0;
    }
    MutableBytes area = slot_packet_area(s, used);
    std::memcpy(area.data(), packet.data(), packet.size());
    MutableBytes copy = area.first(packet.size());
    if ((header->flags & wire::kVirtioNetNeedsCsum) &&
        !wire::complete_partial_checksum(copy, *header)) {
      s.device.count_drop(DropReason::kMalformed);
      return used;
    }
    s.tun_lens[used++] = packet.size();
    return used;
  }
  // TSO/USO: one super-packet stands for a train of packets of at most gso_size payload.
  auto gso = wire::parse_gso_frame(*header, packet);
  if (!gso || gso->max_packet_size > room) {
    s.device.count_drop(DropReason::kMalformed);
    return used;
  }
  for (size_t k = 0; k < gso->segment_count; ++k) {
    if (used == kTunSlots) {
      send_slots(s, used, now);
      used = 0;
    }
    s.tun_lens[used] = wire::write_gso_segment(*gso, packet, k, slot_packet_area(s, used));
    ++used;
  }
  return used;
}

void pump_tun_frames(Agent::State& s, Instant now) {
  size_t used = 0;
  int batches = 0;
  // Frames are bounded too: a stream of frames that make no packet must not hold the loop.
  for (size_t frames = 0; batches < kMaxBatchesPerWakeup && frames < kMaxFramesPerWakeup;
       ++frames) {
    auto n = s.tun.read_frame(s.tun_frame);
    if (!n) {
      log::warn("reading the TUN failed: {}", n.error().message);
      break;
    }
    if (*n == 0) break;
    if (*n == s.tun_frame.size()) {  // larger than any frame the kernel should make: cut short
      s.device.count_drop(DropReason::kMalformed);
      continue;
    }
    used = slot_frame(s, Bytes(s.tun_frame.data(), *n), used, now);
    // A batch goes out once another 64 KiB frame might not fit; small frames fill it first.
    if (used + kSlotsPerFrame > kTunSlots) {
      send_slots(s, used, now);
      used = 0;
      ++batches;
    }
  }
  send_slots(s, used, now);
}

void pump_tun_packets(Agent::State& s, Instant now) {
  std::array<MutableBytes, kTunSlots> bufs;
  for (size_t i = 0; i < kTunSlots; ++i)
    bufs[i] = tun_slot(s, i).subspan(core::kSendHeadroom, s.mtu + 1);
  for (int round = 0; round < kMaxBatchesPerWakeup; ++round) {
    auto n = s.tun.read_batch(bufs, s.tun_lens);
    if (!n) {
      log::warn("reading the TUN failed: {}", n.error().message);
      return;
    }
    send_slots(s, *n, now);
    if (*n < kTunSlots) return;
  }
}

// Writes the coalesced trains (and the packets that stayed alone) to the TUN.
void write_gro(Agent::State& s) {
  if (s.gro.empty()) return;
  s.gro.finish();
  std::array<uint8_t, wire::kVirtioNetHeaderSize> header;
  std::array<Bytes, io::Tun::kMaxWriteParts> parts;
  for (size_t i = 0; i < s.gro.frame_count(); ++i) {
    const auto frame = s.gro.frame(i);
    (void)wire::serialize_virtio_net_header(frame.header, header);  // cannot fail: sized
    parts[0] = header;
    std::copy(frame.parts.begin(), frame.parts.end(), parts.begin() + 1);
    auto w = s.tun.write_frame(std::span<const Bytes>(parts.data(), frame.parts.size() + 1));
    if (!w || *w == 0) {
      if (!w) log::debug("{}", w.error().message);
      for (size_t k = 0; k < frame.packets; ++k)
        s.device.count_drop(DropReason::kTunWriteFailed);
    }
  }
  s.gro.clear();
}

void deliver(Agent::State& s, MutableBytes datagram, Bytes packet) {
  if (!s.tun_gro) {
    auto w = s.tun.write(packet);
    if (!w || *w == 0) s.device.count_drop(DropReason::kTunWriteFailed);
    return;
  }
  if (s.gro.full()) write_gro(s);
  // The packet lies inside the datagram, which this agent owns: GRO may rewrite it.
  const size_t offset = static_cast<size_t>(packet.data() - datagram.data());
  (void)s.gro.add(datagram.subspan(offset, packet.size()));  // room was just made
}

}  // namespace

void init_datapath(Agent::State& s) {
  // Room for the WireGuard header before the packet and padding + tag after it.
  s.slot_size =
      (kRelayHeadroom + core::kSendHeadroom + s.mtu + core::kSendTailroom + kRelayTailroom + 63) &
      ~size_t{63};
  s.tun_slots.assign(kTunSlots * s.slot_size, 0);
  s.tun_lens.assign(kTunSlots, 0);
  s.ctrl_slots.assign(s.send.capacity() * s.slot_size, 0);

  // Offloads where the kernel has them; the data path works the same without.
  const bool gso = s.udp.enable_gso();
  const bool gro = s.udp.enable_gro();
  s.tun_frames = s.tun.vnet_header();
  if (s.tun_frames) {
    s.tun_frame.assign(io::Tun::kMaxFrameSize, 0);
    auto offloads = s.tun.enable_offloads();
    if (offloads) {
      s.tun_gro = offloads->tcp;
      s.gro.set_udp(offloads->udp);
    } else {
      log::info("TUN offloads are off: {}", offloads.error().message);
    }
  }
  log::debug("offloads: UDP GSO {}, UDP GRO {}, TUN TCP {}, TUN UDP {}", gso ? "on" : "off",
             gro ? "on" : "off", s.tun_gro ? "on" : "off", s.tun.offloads().udp ? "on" : "off");
}

void flush_transmits(Agent::State& s, Instant now) {
  // Packet Too Big for local senders whose packets exceeded a peer's MTU.
  while (auto w = s.device.poll_tun_write()) {
    auto written = s.tun.write(*w);
    if (!written || *written == 0) s.device.count_drop(DropReason::kTunWriteFailed);
  }
  while (auto t = s.device.poll_transmit(now)) {
    // Room first: a batch sent further on would free the slot this message is copied to.
    if (s.send.full() || s.ctrl_used == s.send.capacity() || (s.relay && s.relay->batch_full())) {
      send_batch(s);
    }
    if (t->data.size() > s.slot_size - kRelayHeadroom - kRelayTailroom) {
      s.device.count_drop(DropReason::kSendFailed, t->to);
      continue;
    }
    // poll_transmit's bytes live only until the next call: copy them.
    uint8_t* slot = s.ctrl_slots.data() + s.ctrl_used * s.slot_size + kRelayHeadroom;
    std::memcpy(slot, t->data.data(), t->data.size());
    ++s.ctrl_used;
    add_to_batch(s, t->to, MutableBytes(slot, t->data.size()), now);
  }
  send_batch(s);  // the relay's batch too (nothing happens when both are empty)
}

void pump_tun(Agent::State& s, Instant now) {
  if (s.tun_frames) {
    pump_tun_frames(s, now);
  } else {
    pump_tun_packets(s, now);
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
      // With UDP GRO one entry holds a train of datagrams from one sender. An empty
      // datagram is one too, and counted as malformed by the device.
      const Endpoint from = s.recv.from(i);
      MutableBytes all = s.recv.mutable_data(i);
      const size_t segment = s.recv.segment_size(i);
      size_t off = 0;
      do {
        MutableBytes datagram = all.subspan(off, std::min(segment, all.size() - off));
        // A relay's STUN answer to the control link's reflexive-address probe is not WireGuard.
        if (!s.control || !s.control->take_stun(from, datagram, now)) {
          auto r = s.device.receive_datagram(from, datagram, now);
          if (r.kind == core::ReceiveResult::Kind::kDeliver) deliver(s, datagram, r.packet);
        }
        off += segment;
      } while (off < all.size());
    }
    // The next receive reuses the buffers the coalesced packets point into.
    write_gro(s);
    flush_transmits(s, now);
    if (*n < s.recv.capacity()) return;
  }
}

namespace {

// Over TCP/TLS: whole frames straight from the stream's receive buffer, a batch at a time.
void pump_relay_stream(Agent::State& s, Instant now) {
  RelayLink& relay = *s.relay;
  std::array<MutableBytes, kBatchSize> frames;
  for (int round = 0; round < kMaxBatchesPerWakeup; ++round) {
    const size_t n = relay.receive_frames(frames, now);
    for (size_t i = 0; i < n; ++i) {
      if (auto data = relay.handle_message(s.device, frames[i], now)) {
        auto r = s.device.receive_datagram(data->first, data->second, now);
        if (r.kind == core::ReceiveResult::Kind::kDeliver) deliver(s, frames[i], r.packet);
      }
    }
    // The frames lie in the stream's buffer, which the next receive reuses.
    write_gro(s);
    relay.after_input(s.device, now);
    flush_transmits(s, now);
    if (n < frames.size()) return;
  }
}

}  // namespace

void pump_relay(Agent::State& s, Instant now) {
  if (!s.relay) return;
  if (s.relay->over_stream()) return pump_relay_stream(s, now);
  RelayLink& relay = *s.relay;
  io::RecvBatch& recv = relay.recv_batch();
  for (int round = 0; round < kMaxBatchesPerWakeup; ++round) {
    auto n = relay.receive();
    if (!n) {
      log::warn("receiving from the relay failed: {}", n.error().message);
      return;
    }
    for (size_t i = 0; i < *n; ++i) {
      if (recv.truncated(i)) {
        s.device.count_drop(DropReason::kMalformed);
        continue;
      }
      const Endpoint from = recv.from(i);
      MutableBytes all = recv.mutable_data(i);
      const size_t segment = recv.segment_size(i);
      size_t off = 0;
      do {
        MutableBytes datagram = all.subspan(off, std::min(segment, all.size() - off));
        if (auto data = relay.handle_datagram(s.device, from, datagram, now)) {
          auto r = s.device.receive_datagram(data->first, data->second, now);
          if (r.kind == core::ReceiveResult::Kind::kDeliver) deliver(s, datagram, r.packet);
        }
        off += segment;
      } while (off < all.size());
    }
    write_gro(s);
    relay.after_input(s.device, now);
    flush_transmits(s, now);
    if (*n < recv.capacity()) return;
  }
}

}  // namespace tern::agent

// Receive-side coalescing (GRO) for a TUN with offloads: the packets of one TCP or UDP flow
// that arrive in one batch become one super-packet written with a virtio-net header (GSO
// TCPv4/TCPv6 or UDP L4, partial checksum), so the local stack handles one 64 KiB packet
// instead of forty. The TCP rules are the kernel's tcp_gro_receive: same addresses, ports and
// ACK number, equal IP fields (TOS/traffic class, TTL/hop limit, DF, flow label) and TCP
// options, only ACK or ACK|PSH set, consecutive sequence numbers, and every packet as long as
// the first but the last, which may be shorter or carry PSH and then ends the train. UDP
// (only when the TUN takes USO frames) needs the same addresses, ports and IP fields, and
// datagrams as long as the first but the last. A packet whose checksums do not verify is never
// coalesced (the kernel checks and drops it on its own), and no packet of its flow overtakes
// it, nor any other packet that cannot be coalesced (FIN, pure ACK, ...).
//
// Use per batch: add() every packet in arrival order, finish() once, write frame(i) for each i
// in order, clear(). Packets stay where they are: finish() rewrites the first packet of each
// train in place and frames point into the caller's buffers. Nothing allocates after
// construction.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "base/bytes.hpp"
#include "wire/virtio_net.hpp"

namespace tern::wire {

class Gro {
 public:
  // Packets one train may hold, so a frame has a bounded number of parts.
  static constexpr size_t kMaxTrain = 64;

  // At most `capacity` packets per batch. TCP only, until set_udp(true).
  explicit Gro(size_t capacity);
  // Coalesce UDP too: only when the TUN takes USO frames.
  void set_udp(bool on) { udp_ = on; }

  // Adds the next packet: a complete IPv4/IPv6 packet whose buffer stays valid, and may be
  // rewritten, until the batch has been written. False (not added) when the batch is full.
  [[nodiscard]] bool add(MutableBytes packet);
  size_t size() const { return packets_.size(); }
  size_t capacity() const { return capacity_; }
  bool full() const { return packets_.size() == capacity_; }
  bool empty() const { return packets_.empty(); }

  // Rewrites the first packet of each train (IP length, IPv4 header checksum, TCP PSH or UDP
  // length, the transport checksum field as a partial sum) and lays out the frames. Call once,
  // after the last add().
  void finish();

  struct Frame {
    VirtioNetHeader header;        // GSO none for a lone packet
    std::span<const Bytes> parts;  // the first packet whole, then the others' payloads
    size_t packets = 0;
  };
  size_t frame_count() const { return frames_.size(); }
  Frame frame(size_t i) const;

  void clear();

 private:
  static constexpr uint32_t kNone = UINT32_MAX;

  // Where a packet's headers are; a train keeps its first packet's.
  struct Layout {
    bool v6 = false;
    bool udp = false;
    uint8_t ip_header = 0;
    uint8_t l4_header = 0;
  };
  struct Train {
    Layout layout;
    uint32_t first = kNone;
    uint32_t last = kNone;
    uint32_t count = 0;
    uint32_t next_seq = 0;      // TCP
    uint32_t length = 0;        // IP packet length once coalesced
    uint16_t segment_size = 0;  // payload of the first packet: the GSO size
    bool closed = true;         // nothing may follow: PSH, a short packet, or not coalescible
    bool psh = false;
  };
  struct Slot {
    uint32_t generation = 0;
    uint32_t train = 0;
  };
  struct FrameRef {
    VirtioNetHeader header;
    uint32_t first_part = 0;
    uint32_t parts = 0;
    uint32_t packets = 0;
  };

  uint32_t start_train(uint32_t packet, const Train& t);
  bool same_flow(const Train& t, Bytes packet, const Layout& l) const;
  bool can_follow(const Train& t, Bytes packet, uint16_t payload) const;
  void seal(Train& t, FrameRef& frame);

  size_t capacity_;
  bool udp_ = false;
  std::vector<MutableBytes> packets_;
  std::vector<uint32_t> next_;  // per packet: the next packet of its train
  std::vector<Train> trains_;
  std::vector<Slot> slots_;  // open addressing, flow -> its latest train
  uint32_t generation_ = 1;
  std::vector<Bytes> parts_;
  std::vector<FrameRef> frames_;
};

}  // namespace tern::wire

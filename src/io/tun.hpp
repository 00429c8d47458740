// The TUN device: the overlay side of the agent. Each read returns one IP packet (IPv4 or
// IPv6, no packet-info header) that a local application sent into the tunnel; each write
// delivers one decrypted packet to the local stack. The interface disappears when the Tun is
// closed.
//
// Offloads: the device is opened with IFF_VNET_HDR where the kernel allows, so every frame
// on the file descriptor starts with a 10-byte virtio-net header (wire/virtio_net.hpp).
// read() and write() hide it. After enable_offloads() the kernel may hand over TCP (and UDP)
// super-packets of up to 64 KiB and partial checksums, and accepts them in writes: then the
// caller reads and writes whole frames (read_frame, write_frame) and does the segmenting and
// coalescing itself.
#pragma once

#include <cstddef>
#include <span>
#include <string>

#include "base/bytes.hpp"
#include "base/result.hpp"
#include "io/fd.hpp"

namespace tern::io {

// What enable_offloads() switched on.
struct TunOffloads {
  bool tcp = false;  // checksum offload, TSO for IPv4 and IPv6 (TUN_F_CSUM|TSO4|TSO6)
  bool udp = false;  // USO for IPv4 and IPv6 (Linux 6.2)
};

class Tun {
 public:
  // Size of the virtio-net header in front of each frame when vnet_header() is true.
  static constexpr size_t kVnetHeaderSize = 10;
  // Room for any frame read_frame() can return: a virtio-net header and a super-packet of up to
  // 64 KiB (an IPv6 payload length does not count the 40-byte header).
  static constexpr size_t kMaxFrameSize = kVnetHeaderSize + 40 + 65535;

  // `name` may be empty (the kernel picks tunN) or a template such as "tern%d".
  [[nodiscard]] static Result<Tun> open(const std::string& name);

  // The name the kernel gave the interface.
  const std::string& name() const { return name_; }
  int fd() const { return fd_.get(); }
  // Frames on the descriptor carry a virtio-net header.
  bool vnet_header() const { return vnet_header_; }
  const TunOffloads& offloads() const { return offloads_; }

  // One packet into `buf`; 0 when none is pending (EAGAIN). A packet larger than `buf` is
  // truncated by the kernel: size buffers to the MTU plus headroom. Not for use after
  // enable_offloads(): a super-packet does not fit one packet's buffer (read_frame does).
  [[nodiscard]] Result<size_t> read(MutableBytes buf);
  // Reads packets until EAGAIN or every buffer holds one: lens[i] is the length of the packet
  // in bufs[i]. Returns the number of packets read (at most min(bufs.size(), lens.size())).
  [[nodiscard]] Result<size_t> read_batch(std::span<MutableBytes> bufs, std::span<size_t> lens);
  // One packet; returns its size, or 0 if the device queue is full (EAGAIN). EINVAL means the
  // kernel rejected the packet (not IPv4/IPv6): the caller counts it as a drop.
  [[nodiscard]] Result<size_t> write(Bytes packet);

  // Switches on TUN_F_CSUM|TSO4|TSO6 and, where the kernel has them, USO4|USO6. Needs
  // vnet_header(); an error leaves every offload off and the device as it was.
  [[nodiscard]] Result<TunOffloads> enable_offloads();
  // One frame as the kernel hands it over: the virtio-net header (when vnet_header()) and then
  // the packet. Size `buf` to kMaxFrameSize once offloads are on; a frame that fills `buf`
  // entirely may have been cut short. 0 when none is pending.
  [[nodiscard]] Result<size_t> read_frame(MutableBytes buf);
  // One frame gathered from `parts` (at most kMaxWriteParts): the virtio-net header first when
  // vnet_header(). Returns the bytes written, or 0 if the device queue is full (EAGAIN).
  static constexpr size_t kMaxWriteParts = 128;
  [[nodiscard]] Result<size_t> write_frame(std::span<const Bytes> parts);

 private:
  Tun(UniqueFd fd, std::string name, bool vnet_header)
      : fd_(std::move(fd)), name_(std::move(name)), vnet_header_(vnet_header) {}
  [[nodiscard]] Result<size_t> writev_parts(std::span<const Bytes> parts, size_t total);

  UniqueFd fd_;
  std::string name_;
  bool vnet_header_ = false;
  TunOffloads offloads_;
};

}  // namespace tern::io

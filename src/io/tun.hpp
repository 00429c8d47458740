// The TUN device: the overlay side of the agent. Each read returns one IP packet (IPv4 or
// IPv6, no packet-info header) that a local application sent into the tunnel; each write
// delivers one decrypted packet to the local stack. Room left for IFF_VNET_HDR offloads
// (TSO/GRO on the TUN), not enabled yet. The interface disappears when the Tun is closed.
#pragma once

#include <cstddef>
#include <span>
#include <string>

#include "base/bytes.hpp"
#include "base/result.hpp"
#include "io/fd.hpp"

namespace tern::io {

class Tun {
 public:
  // `name` may be empty (the kernel picks tunN) or a template such as "tern%d".
  [[nodiscard]] static Result<Tun> open(const std::string& name);

  // The name the kernel gave the interface.
  const std::string& name() const { return name_; }
  int fd() const { return fd_.get(); }

  // One packet into `buf`; 0 when none is pending (EAGAIN). A packet larger than `buf` is
  // truncated by the kernel: size buffers to the MTU plus headroom.
  [[nodiscard]] Result<size_t> read(MutableBytes buf);
  // Reads packets until EAGAIN or every buffer holds one: lens[i] is the length of the packet
  // in bufs[i]. Returns the number of packets read (at most min(bufs.size(), lens.size())).
  [[nodiscard]] Result<size_t> read_batch(std::span<MutableBytes> bufs, std::span<size_t> lens);
  // One packet; returns its size, or 0 if the device queue is full (EAGAIN). EINVAL means the
  // kernel rejected the packet (not IPv4/IPv6): the caller counts it as a drop.
  [[nodiscard]] Result<size_t> write(Bytes packet);

 private:
  Tun(UniqueFd fd, std::string name) : fd_(std::move(fd)), name_(std::move(name)) {}
  UniqueFd fd_;
  std::string name_;
};

}  // namespace tern::io

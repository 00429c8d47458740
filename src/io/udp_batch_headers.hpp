// The kernel-facing arrays behind RecvBatch and SendBatch (internal to io/): one mmsghdr,
// iovec, sockaddr_storage and control buffer per slot, allocated once with the batch.
#pragma once

#include <sys/socket.h>
#include <sys/uio.h>

#include <cstdint>
#include <vector>

#include "io/udp_socket.hpp"

namespace tern::io {

// sendmmsg/recvmmsg accept at most UIO_MAXIOV messages per call.
inline constexpr size_t kMaxBatch = 1024;
// Datagrams one UDP_SEGMENT message may carry (UDP_MAX_SEGMENTS before Linux 6.9).
inline constexpr size_t kMaxGsoSegments = 64;
// Largest UDP payload of one message: 65535 - IPv4 header - UDP header.
inline constexpr size_t kMaxGsoBytes = 65535 - 20 - 8;

// Room for one UDP_SEGMENT (uint16_t) or UDP_GRO (int) control message, suitably aligned.
union ControlBuffer {
  cmsghdr align;
  char bytes[CMSG_SPACE(sizeof(int))];
};

struct RecvBatch::Headers {
  std::vector<mmsghdr> msgs;
  std::vector<iovec> iovs;
  std::vector<sockaddr_storage> names;
  std::vector<ControlBuffer> controls;
};

struct SendBatch::Headers {
  std::vector<mmsghdr> msgs;  // one per message: a message may carry several entries (GSO)
  std::vector<iovec> iovs;    // one per entry; a message points at a run of them
  std::vector<sockaddr_storage> names;
  std::vector<ControlBuffer> controls;
  std::vector<uint32_t> first;  // per message: its first entry
  std::vector<uint32_t> count;  // per message: how many entries it carries
};

// Writes a UDP_SEGMENT control message for `segment_size` into `msg` (using `control`).
void set_gso_segment(msghdr& msg, ControlBuffer& control, uint16_t segment_size);
// The UDP_GRO segment size a received message carries, or 0.
size_t gro_segment_size(const msghdr& msg);

}  // namespace tern::io

// UDP segmentation offloads: switching them on, and their control messages.
#include <errno.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <sys/socket.h>

#include <cstring>

#include "base/log.hpp"
#include "io/sys_error.hpp"
#include "io/udp_batch_headers.hpp"
#include "io/udp_socket.hpp"

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif
#ifndef UDP_GRO
#define UDP_GRO 104
#endif

namespace tern::io {

void set_gso_segment(msghdr& msg, ControlBuffer& control, uint16_t segment_size) {
  std::memset(&control, 0, sizeof control);
  msg.msg_control = control.bytes;
  msg.msg_controllen = CMSG_SPACE(sizeof(uint16_t));
  cmsghdr* c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_UDP;
  c->cmsg_type = UDP_SEGMENT;
  c->cmsg_len = CMSG_LEN(sizeof(uint16_t));
  std::memcpy(CMSG_DATA(c), &segment_size, sizeof segment_size);
}

size_t gro_segment_size(const msghdr& msg) {
  if (msg.msg_controllen == 0) return 0;
  for (const cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr;
       c = CMSG_NXTHDR(const_cast<msghdr*>(&msg), const_cast<cmsghdr*>(c))) {
    if (c->cmsg_level == SOL_UDP && c->cmsg_type == UDP_GRO &&
        c->cmsg_len >= CMSG_LEN(sizeof(int))) {
      int size = 0;
      std::memcpy(&size, CMSG_DATA(c), sizeof size);
      return size > 0 ? static_cast<size_t>(size) : 0;
    }
  }
  return 0;
}

bool UdpSocket::enable_gso() {
  // A socket-wide segment size of 0 changes nothing, but fails where UDP_SEGMENT is unknown.
  int off = 0;
  gso_ = ::setsockopt(fd_.get(), SOL_UDP, UDP_SEGMENT, &off, sizeof off) == 0;
  if (!gso_) log::debug("UDP GSO is not available: {}", errno_text(errno));
  return gso_;
}

bool UdpSocket::enable_gro() {
  int on = 1;
  gro_ = ::setsockopt(fd_.get(), SOL_UDP, UDP_GRO, &on, sizeof on) == 0;
  if (!gro_) log::debug("UDP GRO is not available: {}", errno_text(errno));
  return gro_;
}

}  // namespace tern::io

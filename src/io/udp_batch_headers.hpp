// The kernel-facing arrays behind RecvBatch and SendBatch (internal to io/): one mmsghdr,
// iovec and sockaddr_storage per slot, allocated once with the batch.
#pragma once

#include <sys/socket.h>
#include <sys/uio.h>

#include <vector>

#include "io/udp_socket.hpp"

namespace tern::io {

// sendmmsg/recvmmsg accept at most UIO_MAXIOV messages per call.
inline constexpr size_t kMaxBatch = 1024;

struct RecvBatch::Headers {
  std::vector<mmsghdr> msgs;
  std::vector<iovec> iovs;
  std::vector<sockaddr_storage> names;
};

struct SendBatch::Headers {
  std::vector<mmsghdr> msgs;
  std::vector<iovec> iovs;
  std::vector<sockaddr_storage> names;
};

}  // namespace tern::io

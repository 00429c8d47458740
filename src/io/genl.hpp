// A generic netlink socket for requests whose bytes are built elsewhere (the WireGuard
// codec in doctor/wg_netlink.hpp): send one request, collect every reply message until the
// ACK, the error or the end of the dump.
#pragma once

#include <cstdint>
#include <vector>

#include "base/bytes.hpp"
#include "base/result.hpp"
#include "io/fd.hpp"

namespace tern::io {

struct GenlReply {
  int error = 0;  // the request's errno (ENOENT: no such family or device), 0 on success
  std::vector<std::vector<uint8_t>> messages;  // each whole, nlmsghdr included
};

class GenlSocket {
 public:
  [[nodiscard]] static Result<GenlSocket> open();
  // Sends `request` (its nlmsghdr carries `seq`) and reads its answer, for at most 3 s.
  [[nodiscard]] Result<GenlReply> transact(Bytes request, uint32_t seq);

 private:
  explicit GenlSocket(UniqueFd fd) : fd_(std::move(fd)) {}
  UniqueFd fd_;
};

}  // namespace tern::io

// TUN offloads: switching them on, and whole-frame reads and gathered writes.
#include <errno.h>
#include <linux/if_tun.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <unistd.h>

#include <fmt/core.h>

#include "base/log.hpp"
#include "io/sys_error.hpp"
#include "io/tun.hpp"

// Debian 12's headers predate USO (Linux 6.2).
#ifndef TUN_F_USO4
#define TUN_F_USO4 0x20
#endif
#ifndef TUN_F_USO6
#define TUN_F_USO6 0x40
#endif

namespace tern::io {

Result<TunOffloads> Tun::enable_offloads() {
  if (!vnet_header_) return fail("TUN interface " + name_ + " has no virtio-net header");
  constexpr unsigned kTcp = TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6;
  constexpr unsigned kUdp = TUN_F_USO4 | TUN_F_USO6;
  if (::ioctl(fd_.get(), TUNSETOFFLOAD, kTcp | kUdp) == 0) {
    offloads_ = TunOffloads{true, true};
  } else if (::ioctl(fd_.get(), TUNSETOFFLOAD, kTcp) == 0) {
    offloads_ = TunOffloads{true, false};
  } else {
    int err = errno;
    return fail(
        fmt::format("enabling offloads on TUN interface {} failed: {}", name_, errno_text(err)));
  }
  return offloads_;
}

Result<size_t> Tun::read_frame(MutableBytes buf) {
  for (;;) {
    ssize_t n = ::read(fd_.get(), buf.data(), buf.size());
    if (n >= 0) return static_cast<size_t>(n);
    int err = errno;
    if (err == EINTR) continue;
    if (err == EAGAIN || err == EWOULDBLOCK) return 0;
    return fail(fmt::format("reading from TUN interface {} failed: {}", name_, errno_text(err)));
  }
}

Result<size_t> Tun::write_frame(std::span<const Bytes> parts) {
  if (parts.size() > kMaxWriteParts) {
    return fail(fmt::format("a frame for TUN interface {} has {} parts, more than {}", name_,
                            parts.size(), kMaxWriteParts));
  }
  size_t total = 0;
  for (Bytes p : parts)
    total += p.size();
  return writev_parts(parts, total);
}

Result<size_t> Tun::writev_parts(std::span<const Bytes> parts, size_t total) {
  iovec iov[kMaxWriteParts];
  for (size_t i = 0; i < parts.size(); ++i)
    iov[i] = iovec{const_cast<uint8_t*>(parts[i].data()), parts[i].size()};
  for (;;) {
    ssize_t n = ::writev(fd_.get(), iov, static_cast<int>(parts.size()));
    if (n >= 0) return static_cast<size_t>(n);
    int err = errno;
    if (err == EINTR) continue;
    if (err == EAGAIN || err == EWOULDBLOCK) return 0;
    return fail(fmt::format("writing a {}-byte packet to TUN interface {} failed: {}", total, name_,
                            errno_text(err)));
  }
}

}  // namespace tern::io

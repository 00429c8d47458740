#include "io/tun.hpp"

#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include <fmt/core.h>

#include "io/sys_error.hpp"

namespace tern::io {

namespace {

constexpr const char* kTunPath = "/dev/net/tun";

std::string open_error(int err) {
  switch (err) {
    case ENOENT:
    case ENXIO:
    case ENODEV:
      return fmt::format(
          "{} does not exist: load the tun module (modprobe tun) or, in a container, pass the "
          "device (--device /dev/net/tun) [{}]",
          kTunPath, errno_text(err));
    case EPERM:
    case EACCES:
      return fmt::format(
          "creating a TUN interface needs root or CAP_NET_ADMIN: run tern up with sudo [{}]",
          errno_text(err));
    default:
      return fmt::format("opening {} failed: {}", kTunPath, errno_text(err));
  }
}

std::string create_error(const std::string& name, int err) {
  switch (err) {
    case EPERM:
    case EACCES:
      return fmt::format(
          "creating TUN interface {} needs root or CAP_NET_ADMIN: run tern up with sudo (or an "
          "interface of that name exists and belongs to another user) [{}]",
          name, errno_text(err));
    case EBUSY:
      return fmt::format(
          "interface {} already exists and is in use by another process (is tern or wireguard "
          "already running on it?): stop that process, or remove the interface with "
          "`ip link delete {}`, or choose another interface name [{}]",
          name, name, errno_text(err));
    case EINVAL:
      return fmt::format(
          "interface {} already exists and is not a TUN device: remove it with "
          "`ip link delete {}` or choose another interface name [{}]",
          name, name, errno_text(err));
    default:
      return fmt::format("creating TUN interface {} failed: {}", name.empty() ? "tunN" : name,
                         errno_text(err));
  }
}

}  // namespace

Result<Tun> Tun::open(const std::string& name) {
  if (name.size() >= IFNAMSIZ) {
    return fail(
        fmt::format("interface name '{}' is too long: at most {} characters", name, IFNAMSIZ - 1));
  }
  int raw = ::open(kTunPath, O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (raw < 0) return fail(open_error(errno));
  UniqueFd fd(raw);

  ifreq ifr{};
  // IFF_NO_PI: packets start at the IP header. IFF_VNET_HDR: a virtio-net header before each,
  // which offloads need; a kernel that refuses it still gets a plain TUN.
  ifr.ifr_flags = IFF_TUN | IFF_NO_PI | IFF_VNET_HDR;
  std::memcpy(ifr.ifr_name, name.data(), name.size());
  bool vnet = true;
  if (::ioctl(fd.get(), TUNSETIFF, &ifr) != 0) {
    if (errno != EINVAL) return fail(create_error(name, errno));
    ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
    vnet = false;
    if (::ioctl(fd.get(), TUNSETIFF, &ifr) != 0) return fail(create_error(name, errno));
  }
  ifr.ifr_name[IFNAMSIZ - 1] = '\0';
  return Tun(std::move(fd), std::string(ifr.ifr_name), vnet);
}

Result<size_t> Tun::read(MutableBytes buf) {
  uint8_t header[kVnetHeaderSize];
  iovec iov[2] = {{header, sizeof header}, {buf.data(), buf.size()}};
  for (;;) {
    ssize_t n =
        vnet_header_ ? ::readv(fd_.get(), iov, 2) : ::read(fd_.get(), buf.data(), buf.size());
    if (n >= 0 && !vnet_header_) return static_cast<size_t>(n);
    if (n >= 0) {
      // gso_type (byte 1) is always NONE while offloads are off.
      if (static_cast<size_t>(n) < kVnetHeaderSize || header[1] != 0) {
        return fail(fmt::format("TUN interface {} handed over a super-packet to read()", name_));
      }
      return static_cast<size_t>(n) - kVnetHeaderSize;
    }
    int err = errno;
    if (err == EINTR) continue;
    if (err == EAGAIN || err == EWOULDBLOCK) return 0;
    return fail(fmt::format("reading from TUN interface {} failed: {}", name_, errno_text(err)));
  }
}

Result<size_t> Tun::read_batch(std::span<MutableBytes> bufs, std::span<size_t> lens) {
  const size_t max = std::min(bufs.size(), lens.size());
  size_t count = 0;
  while (count < max) {
    auto n = read(bufs[count]);
    if (!n) {
      // Hand over what was read; the error comes back on the next call.
      if (count > 0) break;
      return tl::unexpected(n.error());
    }
    if (*n == 0) break;
    lens[count++] = *n;
  }
  return count;
}

Result<size_t> Tun::write(Bytes packet) {
  if (vnet_header_) {
    // A zero header: no GSO, checksum complete.
    static const uint8_t kPlain[kVnetHeaderSize] = {};
    const Bytes parts[2] = {Bytes(kPlain, sizeof kPlain), packet};
    auto n = writev_parts(parts, packet.size());
    if (!n || *n == 0) return n;
    return *n - kVnetHeaderSize;
  }
  for (;;) {
    ssize_t n = ::write(fd_.get(), packet.data(), packet.size());
    if (n >= 0) return static_cast<size_t>(n);
    int err = errno;
    if (err == EINTR) continue;
    if (err == EAGAIN || err == EWOULDBLOCK) return 0;
    return fail(fmt::format("writing a {}-byte packet to TUN interface {} failed: {}",
                            packet.size(), name_, errno_text(err)));
  }
}

}  // namespace tern::io

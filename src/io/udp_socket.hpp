// The agent's one UDP socket: IPv4 and IPv6 on one port, batched with recvmmsg/sendmmsg.
// Batches own every buffer and header array, so a receive or send allocates nothing.
// Two offloads, each switched on where the kernel has it (enable_gso/enable_gro):
//   UDP GSO: consecutive batch entries to one endpoint, all of one size but the last which may
//            be shorter, leave as one message with UDP_SEGMENT; the kernel cuts it up.
//   UDP GRO: the kernel hands over a train of same-size datagrams from one sender in one
//            buffer; segment_size(i) says where to cut it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "base/bytes.hpp"
#include "base/ip.hpp"
#include "base/result.hpp"
#include "io/fd.hpp"

namespace tern::io {

// Up to `count` received datagrams of at most `buffer_size` bytes each.
class RecvBatch {
 public:
  static constexpr size_t kDefaultCount = 128;

  RecvBatch(size_t count, size_t buffer_size);
  ~RecvBatch();
  RecvBatch(RecvBatch&&) noexcept;
  RecvBatch& operator=(RecvBatch&&) noexcept;

  size_t capacity() const { return lens_.size(); }
  size_t buffer_size() const { return buffer_size_; }
  // Datagrams filled by the last UdpSocket::recv.
  size_t size() const { return size_; }
  Bytes data(size_t i) const { return Bytes(buffers_.data() + i * buffer_size_, lens_[i]); }
  // The same bytes, writable: the device decrypts in place.
  MutableBytes mutable_data(size_t i) {
    return MutableBytes(buffers_.data() + i * buffer_size_, lens_[i]);
  }
  // The datagram was larger than buffer_size(); data(i) holds only its first bytes.
  bool truncated(size_t i) const { return truncated_[i] != 0; }
  // With GRO, entry i may hold several datagrams back to back: each segment_size(i) bytes long
  // but the last, which may be shorter. Without it (or for a lone datagram) it is
  // data(i).size(). Never 0 for an entry with data.
  size_t segment_size(size_t i) const { return segment_sizes_[i]; }
  // The sender; v4-mapped IPv6 addresses come back as IPv4.
  Endpoint from(size_t i) const;

 private:
  friend class UdpSocket;
  struct Headers;  // mmsghdr, iovec and sockaddr_storage arrays

  size_t buffer_size_;
  size_t size_ = 0;
  std::vector<uint8_t> buffers_;
  std::vector<size_t> lens_;
  std::vector<uint8_t> truncated_;
  std::vector<size_t> segment_sizes_;
  std::unique_ptr<Headers> headers_;
};

// Up to `capacity` datagrams to send. add() keeps a view of the bytes: they must stay alive
// until UdpSocket::send has consumed the entry.
class SendBatch {
 public:
  static constexpr size_t kDefaultCount = 128;

  explicit SendBatch(size_t capacity);
  ~SendBatch();
  SendBatch(SendBatch&&) noexcept;
  SendBatch& operator=(SendBatch&&) noexcept;

  // False (and nothing added) when the batch is full.
  [[nodiscard]] bool add(const Endpoint& to, Bytes data);
  void clear();

  size_t size() const { return size_; }
  size_t capacity() const { return to_.size(); }
  bool full() const { return size_ == capacity(); }
  bool empty() const { return size_ == 0; }
  const Endpoint& to(size_t i) const { return to_[i]; }
  Bytes data(size_t i) const { return data_[i]; }
  // After a send that consumed entry i: 0 if it was sent, else the errno that dropped it
  // (EMSGSIZE, ENETUNREACH, EHOSTUNREACH, EPERM from a firewall, EAFNOSUPPORT, ...).
  int error(size_t i) const { return errors_[i]; }

 private:
  friend class UdpSocket;
  struct Headers;

  size_t size_ = 0;
  std::vector<Endpoint> to_;
  std::vector<Bytes> data_;
  std::vector<int> errors_;
  std::unique_ptr<Headers> headers_;
};

// Send failures, counted by cause; each one dropped exactly one datagram.
struct SendErrors {
  uint64_t message_too_big = 0;  // EMSGSIZE: larger than the route's MTU (DF set)
  uint64_t unreachable = 0;      // ENETUNREACH, EHOSTUNREACH, EADDRNOTAVAIL: no route
  uint64_t not_permitted = 0;    // EPERM, EACCES: a firewall rule (nftables) refused it
  uint64_t other = 0;
  uint64_t total() const { return message_too_big + unreachable + not_permitted + other; }
};

// What UdpSocket::bind sets on the socket before it binds.
struct UdpBindOptions {
  // The receive and send buffers asked for. Past net.core.[rw]mem_max only as root (or with
  // CAP_NET_ADMIN); otherwise the kernel caps them there.
  int buffer_bytes = 8 << 20;
  // SO_REUSEPORT: sockets of one user that all set it may bind the same address and port, and
  // the kernel spreads incoming datagrams over them by their 4-tuple (a group of listeners,
  // one per thread). Without it, binding a port in use fails.
  bool reuse_port = false;
};

class UdpSocket {
 public:
  // Binds [::]:port accepting IPv4 too (IPV6_V6ONLY=0), or 0.0.0.0:port where IPv6 is
  // unavailable. Port 0 picks an ephemeral port. Nonblocking, with large socket buffers.
  [[nodiscard]] static Result<UdpSocket> bind(uint16_t port, const UdpBindOptions& options = {});
  // Binds exactly this local address (for tests and single-address setups).
  [[nodiscard]] static Result<UdpSocket> bind(const Endpoint& local,
                                              const UdpBindOptions& options = {});

  int fd() const { return fd_.get(); }
  uint16_t local_port() const { return local_port_; }
  // True when the socket is IPv6 (dual-stack unless bound to a specific IPv6 address).
  bool is_v6() const { return v6_; }

  // Fills `batch` with the datagrams pending now; 0 when none is (EAGAIN).
  [[nodiscard]] Result<size_t> recv(RecvBatch& batch);

  // Sends batch entries [start, size()). Returns how many entries were consumed from `start`:
  // each was either sent or dropped with its errno in batch.error(i) (and counted in
  // send_errors()). Fewer than size() - start means the socket buffer is full (EAGAIN): wait
  // for writability and resume at start + result, or count the rest as dropped. An error
  // Result only for a broken socket (EBADF, ENOTSOCK, ...). With GSO, a coalesced message that
  // fails is sent again datagram by datagram, so error(i) is each datagram's own errno.
  [[nodiscard]] Result<size_t> send(SendBatch& batch, size_t start = 0);

  // Switches UDP GSO on send on; false (and off) where the kernel lacks UDP_SEGMENT. It turns
  // itself off if a route cannot segment (EIO), and the batch goes out datagram by datagram.
  [[nodiscard]] bool enable_gso();
  // Asks the kernel for coalesced receives (UDP_GRO); false where it lacks them.
  [[nodiscard]] bool enable_gro();
  bool gso_enabled() const { return gso_; }
  bool gro_enabled() const { return gro_; }

  // Set DF on every datagram and never fragment locally (IP_PMTUDISC_PROBE), as DPLPMTUD
  // probes need; false lets the kernel fragment (IP_PMTUDISC_DONT). Default: the kernel's.
  [[nodiscard]] Status set_dont_fragment(bool on);

  // Marks every datagram sent from now on (SO_MARK), so policy routing can tell the tunnel's
  // own packets apart (wg's fwmark); 0 removes the mark. Needs CAP_NET_ADMIN.
  [[nodiscard]] Status set_mark(uint32_t mark);

  const SendErrors& send_errors() const { return send_errors_; }
  // The errno of the most recent failed datagram (0 if none failed yet).
  int last_errno() const { return last_errno_; }

 private:
  UdpSocket(UniqueFd fd, bool v6, uint16_t port) : fd_(std::move(fd)), v6_(v6), local_port_(port) {}
  void count_send_error(int err);

  UniqueFd fd_;
  bool v6_ = false;
  uint16_t local_port_ = 0;
  // How many entries from `pos` one message may carry: 1 without GSO.
  size_t coalescible(const SendBatch& batch, size_t pos, size_t end) const;

  SendErrors send_errors_;
  int last_errno_ = 0;
  bool gso_ = false;
  bool gro_ = false;
};

}  // namespace tern::io

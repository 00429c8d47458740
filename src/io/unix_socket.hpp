// The WireGuard UAPI socket (/var/run/wireguard/IFACE.sock): a Unix stream listener that
// `wg` and `tern` connect to, plus nonblocking read/write helpers for its connections.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "base/bytes.hpp"
#include "base/result.hpp"
#include "io/fd.hpp"

namespace tern::io {

class UnixListener {
 public:
  // Creates the parent directory (mode 0755) if missing. A socket file nobody answers on is
  // stale and removed; one somebody answers on means another process serves the interface.
  // The socket file gets mode 0600. Nonblocking.
  [[nodiscard]] static Result<UnixListener> listen(const std::string& path);
  // Unlinks the socket file (unless another process has replaced it since).
  ~UnixListener();
  UnixListener(UnixListener&& other) noexcept;
  UnixListener& operator=(UnixListener&&) = delete;
  UnixListener(const UnixListener&) = delete;
  UnixListener& operator=(const UnixListener&) = delete;

  int fd() const { return fd_.get(); }
  const std::string& path() const { return path_; }

  // A new nonblocking connection, or nullopt when none is pending.
  [[nodiscard]] Result<std::optional<UniqueFd>> accept();

 private:
  UnixListener(UniqueFd fd, std::string path, uint64_t inode)
      : fd_(std::move(fd)), path_(std::move(path)), inode_(inode) {}
  UniqueFd fd_;
  std::string path_;
  uint64_t inode_ = 0;  // of our socket file: never unlink a successor's
};

// Blocking connect to a Unix stream socket (the CLI's side of the UAPI).
[[nodiscard]] Result<UniqueFd> unix_connect(const std::string& path);

// Nonblocking read: nullopt when nothing is pending (EAGAIN), 0 when the peer closed (EOF),
// else the number of bytes read.
[[nodiscard]] Result<std::optional<size_t>> read_some(int fd, MutableBytes buf);
// Nonblocking write (no SIGPIPE): the number of bytes written, 0 when the socket buffer is
// full (EAGAIN). A peer that closed its end gives an error.
[[nodiscard]] Result<size_t> write_some(int fd, Bytes data);

}  // namespace tern::io

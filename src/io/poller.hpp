// The event loop's wait: an epoll set of file descriptors, each tagged with a caller-chosen
// token. Level-triggered, so a reader that stops before EAGAIN is woken again.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "base/result.hpp"
#include "base/time.hpp"
#include "io/fd.hpp"

namespace tern::io {

struct Ready {
  uint64_t token = 0;
  bool readable = false;
  bool writable = false;
  bool error = false;  // EPOLLERR or EPOLLHUP: read the fd to learn what happened
};

class Poller {
 public:
  [[nodiscard]] static Result<Poller> create();

  [[nodiscard]] Status add(int fd, uint64_t token, bool readable, bool writable);
  [[nodiscard]] Status modify(int fd, uint64_t token, bool readable, bool writable);
  // Removing an fd that is not registered is not an error.
  void remove(int fd);

  // Waits until at least one fd is ready or `timeout` has passed (nullopt: forever; zero: poll).
  // Never returns early for the timeout: it is rounded up, not down. Returns the number of
  // entries written to `out`; 0 on timeout or when a signal interrupted the wait (EINTR).
  [[nodiscard]] Result<size_t> wait(std::optional<Duration> timeout, std::span<Ready> out);

  int fd() const { return fd_.get(); }

 private:
  explicit Poller(UniqueFd fd) : fd_(std::move(fd)) {}
  UniqueFd fd_;
};

}  // namespace tern::io

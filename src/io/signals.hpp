// Shutdown and reload signals as an fd the poller can watch. Creating a SignalFd blocks
// SIGINT, SIGTERM and SIGHUP in the calling thread (create it before starting other threads,
// which inherit the mask) and ignores SIGPIPE process-wide, so a closed peer socket yields EPIPE.
#pragma once

#include <signal.h>

#include <optional>

#include "base/result.hpp"
#include "io/fd.hpp"

namespace tern::io {

class SignalFd {
 public:
  [[nodiscard]] static Result<SignalFd> create();
  // Restores the signal mask that was in place before create().
  ~SignalFd();
  SignalFd(SignalFd&& other) noexcept;
  SignalFd& operator=(SignalFd&&) = delete;
  SignalFd(const SignalFd&) = delete;
  SignalFd& operator=(const SignalFd&) = delete;

  int fd() const { return fd_.get(); }
  // The next pending signal number (SIGINT, SIGTERM or SIGHUP), or nullopt when none is pending.
  std::optional<int> read();

 private:
  SignalFd(UniqueFd fd, const sigset_t& old_mask) : fd_(std::move(fd)), old_mask_(old_mask) {}
  UniqueFd fd_;
  sigset_t old_mask_;
  bool restore_ = true;
};

}  // namespace tern::io

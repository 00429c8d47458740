#include "io/signals.hpp"

#include <errno.h>
#include <pthread.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "io/sys_error.hpp"

namespace tern::io {

Result<SignalFd> SignalFd::create() {
  // A write to a socket whose peer has gone must return EPIPE, not kill the agent.
  if (::signal(SIGPIPE, SIG_IGN) == SIG_ERR) {
    int err = errno;
    return fail("ignoring SIGPIPE failed: " + errno_text(err));
  }
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGINT);
  sigaddset(&mask, SIGTERM);
  sigaddset(&mask, SIGHUP);
  sigset_t old_mask;
  if (int err = ::pthread_sigmask(SIG_BLOCK, &mask, &old_mask); err != 0) {
    return fail("blocking SIGINT/SIGTERM/SIGHUP failed: " + errno_text(err));
  }
  int fd = ::signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
  if (fd < 0) {
    int err = errno;
    ::pthread_sigmask(SIG_SETMASK, &old_mask, nullptr);
    return fail("signalfd failed: " + errno_text(err));
  }
  return SignalFd(UniqueFd(fd), old_mask);
}

SignalFd::SignalFd(SignalFd&& other) noexcept
    : fd_(std::move(other.fd_)), old_mask_(other.old_mask_), restore_(other.restore_) {
  other.restore_ = false;
}

SignalFd::~SignalFd() {
  if (restore_) ::pthread_sigmask(SIG_SETMASK, &old_mask_, nullptr);
}

std::optional<int> SignalFd::read() {
  signalfd_siginfo info{};
  for (;;) {
    ssize_t n = ::read(fd_.get(), &info, sizeof info);
    if (n == static_cast<ssize_t>(sizeof info)) return static_cast<int>(info.ssi_signo);
    if (n < 0 && errno == EINTR) continue;
    return std::nullopt;  // EAGAIN: nothing pending (a signalfd never returns a partial record)
  }
}

}  // namespace tern::io

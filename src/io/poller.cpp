#include "io/poller.hpp"

#include <errno.h>
#include <sys/epoll.h>
#include <time.h>

#include <algorithm>
#include <atomic>

#include <fmt/core.h>

#include "io/sys_error.hpp"

namespace tern::io {

namespace {

// Events fetched per wait; more ready fds are returned by the next wait (level-triggered).
constexpr size_t kMaxEvents = 64;

uint32_t event_mask(bool readable, bool writable) {
  uint32_t events = 0;
  if (readable) events |= EPOLLIN;
  if (writable) events |= EPOLLOUT;
  return events;
}

Status control(int epfd, int op, int fd, uint64_t token, bool readable, bool writable) {
  epoll_event ev{};
  ev.events = event_mask(readable, writable);
  ev.data.u64 = token;
  if (::epoll_ctl(epfd, op, fd, &ev) != 0) {
    int err = errno;
    return fail(fmt::format("epoll_ctl({}, fd {}) failed: {}",
                            op == EPOLL_CTL_ADD ? "add" : "modify", fd, errno_text(err)));
  }
  return {};
}

// epoll_pwait2 takes a timespec, so the timeout is exact to the nanosecond; without it
// (ENOSYS on kernels before 5.11) epoll_wait's milliseconds are rounded up, never down.
std::atomic<bool> g_have_pwait2{true};

int wait_once(int epfd, epoll_event* events, int max, std::optional<Duration> timeout) {
  if (timeout && *timeout < Duration::zero()) timeout = Duration::zero();
  if (g_have_pwait2.load(std::memory_order_relaxed)) {
    timespec ts{};
    timespec* tsp = nullptr;
    if (timeout) {
      int64_t ns = timeout->count();
      ts.tv_sec = static_cast<time_t>(ns / 1'000'000'000);
      ts.tv_nsec = static_cast<long>(ns % 1'000'000'000);
      tsp = &ts;
    }
    int n = ::epoll_pwait2(epfd, events, max, tsp, nullptr);
    if (n >= 0 || errno != ENOSYS) return n;
    g_have_pwait2.store(false, std::memory_order_relaxed);
  }
  int ms = -1;
  if (timeout) {
    int64_t ns = timeout->count();
    int64_t rounded = (ns + 999'999) / 1'000'000;
    ms = static_cast<int>(std::min<int64_t>(rounded, 24LL * 3600 * 1000));
  }
  return ::epoll_wait(epfd, events, max, ms);
}

}  // namespace

Result<Poller> Poller::create() {
  int fd = ::epoll_create1(EPOLL_CLOEXEC);
  if (fd < 0) {
    int err = errno;
    return fail("epoll_create1 failed: " + errno_text(err));
  }
  return Poller(UniqueFd(fd));
}

Status Poller::add(int fd, uint64_t token, bool readable, bool writable) {
  return control(fd_.get(), EPOLL_CTL_ADD, fd, token, readable, writable);
}

Status Poller::modify(int fd, uint64_t token, bool readable, bool writable) {
  return control(fd_.get(), EPOLL_CTL_MOD, fd, token, readable, writable);
}

void Poller::remove(int fd) {
  ::epoll_ctl(fd_.get(), EPOLL_CTL_DEL, fd, nullptr);
}

Result<size_t> Poller::wait(std::optional<Duration> timeout, std::span<Ready> out) {
  if (out.empty()) return fail("Poller::wait needs room for at least one ready entry");
  epoll_event events[kMaxEvents];
  int max = static_cast<int>(std::min(out.size(), kMaxEvents));
  int n = wait_once(fd_.get(), events, max, timeout);
  if (n < 0) {
    int err = errno;
    if (err == EINTR) return 0;
    return fail("epoll_wait failed: " + errno_text(err));
  }
  for (int i = 0; i < n; ++i) {
    const epoll_event& ev = events[i];
    out[i] = Ready{.token = ev.data.u64,
                   .readable = (ev.events & EPOLLIN) != 0,
                   .writable = (ev.events & EPOLLOUT) != 0,
                   .error = (ev.events & (EPOLLERR | EPOLLHUP)) != 0};
  }
  return static_cast<size_t>(n);
}

}  // namespace tern::io

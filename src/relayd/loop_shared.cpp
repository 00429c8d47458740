#include "relayd/loop_shared.hpp"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace tern::relayd {

std::optional<relay::QuotaRefusal> SharedQuota::acquire(std::string_view user) {
  std::lock_guard lock(mu_);
  return ledger_.acquire(user);
}

void SharedQuota::release(std::string_view user) {
  std::lock_guard lock(mu_);
  ledger_.release(user);
}

uint32_t SharedQuota::held() const {
  std::lock_guard lock(mu_);
  return ledger_.held();
}

PortCursor::PortCursor(uint16_t port_min, uint16_t port_max, uint64_t seed)
    : port_min_(port_min),
      range_(uint32_t{port_max} - port_min + 1),
      offset_(static_cast<uint32_t>(seed % range_)) {}

uint16_t PortCursor::next() {
  std::lock_guard lock(mu_);
  const auto port = static_cast<uint16_t>(port_min_ + offset_);
  offset_ = (offset_ + 1) % range_;
  return port;
}

LoopStats& LoopStats::operator+=(const LoopStats& o) {
  relay += o.relay;
  relay_sockets += o.relay_sockets;
  send_failures += o.send_failures;
  truncated += o.truncated;
  for (auto [mine, theirs] : {std::pair{&tcp, &o.tcp}, {&tls, &o.tls}}) {
    if (!*theirs) continue;
    if (*mine) {
      **mine += **theirs;
    } else {
      *mine = *theirs;
    }
  }
  return *this;
}

void StatsBoard::publish(size_t loop, const LoopStats& stats) {
  Slot& s = slots_[loop];
  std::lock_guard lock(s.mu);
  s.stats = stats;
}

LoopStats StatsBoard::sum() const {
  LoopStats total;
  for (const Slot& s : slots_) {
    std::lock_guard lock(s.mu);
    total += s.stats;
  }
  return total;
}

LoopStats StatsBoard::at(size_t loop) const {
  const Slot& s = slots_[loop];
  std::lock_guard lock(s.mu);
  return s.stats;
}

Result<StopSignal> StopSignal::create() {
  io::UniqueFd fd(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
  if (!fd) return fail(std::string("eventfd: ") + std::strerror(errno));
  return StopSignal(std::move(fd));
}

void StopSignal::trigger() {
  const uint64_t one = 1;
  // Only a full counter (2^64 - 2 writes) could refuse it; the fd is readable either way.
  (void)!::write(fd_.get(), &one, sizeof one);
}

}  // namespace tern::relayd

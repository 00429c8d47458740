#include "noise/replay_window.hpp"

#include <algorithm>

#include "noise/constants.hpp"

namespace tern::noise {

// Bit for counter c lives at position (c + 1) in the ring, so that next_ == 0 can mean
// "nothing seen" (the kernel's counter_validate stores counters the same way).

bool ReplayWindow::would_accept(uint64_t counter) const {
  if (counter >= kRejectAfterMessages) return false;
  const uint64_t pos = counter + 1;
  if (pos + kWindowSize < next_) return false;  // too old
  if (pos > next_) return true;                 // ahead of everything seen
  const uint64_t word = (pos / kWordBits) % kWords;
  return ((bits_[word] >> (pos % kWordBits)) & 1) == 0;
}

void ReplayWindow::mark(uint64_t counter) {
  if (!would_accept(counter)) return;
  const uint64_t pos = counter + 1;
  const uint64_t word = pos / kWordBits;
  if (pos > next_) {
    // Words between the old top and the new one are recycled: clear them.
    const uint64_t current = next_ / kWordBits;
    const uint64_t advance = std::min<uint64_t>(word - current, kWords);
    for (uint64_t i = 1; i <= advance; ++i)
      bits_[(current + i) % kWords] = 0;
    next_ = pos;
  }
  bits_[word % kWords] |= uint64_t{1} << (pos % kWordBits);
}

bool ReplayWindow::check_and_update(uint64_t counter) {
  if (!would_accept(counter)) return false;
  mark(counter);
  return true;
}

void ReplayWindow::reset() {
  next_ = 0;
  bits_.fill(0);
}

}  // namespace tern::noise

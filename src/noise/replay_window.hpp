// Anti-replay window over 64-bit transport counters (whitepaper §5.4.6, RFC 6479):
// a ring of 8192 bits in 64-bit words, as the kernel and wireguard-go, accepting any
// counter not seen before and no more than kWindowSize behind the highest seen.
// Mark a counter only after its packet decrypted, or forged packets would move the
// window: would_accept() before decryption, mark() after.
#pragma once

#include <array>
#include <cstdint>

namespace tern::noise {

class ReplayWindow {
 public:
  static constexpr uint64_t kBitsTotal = 8192;
  static constexpr uint64_t kWordBits = 64;
  // One word of the ring is always being recycled, so the usable window is smaller.
  static constexpr uint64_t kWindowSize = kBitsTotal - kWordBits;  // 8128

  // True if `counter` is below REJECT_AFTER_MESSAGES, not seen, and not too old.
  [[nodiscard]] bool would_accept(uint64_t counter) const;
  // Records `counter` as seen (call only when would_accept(counter) was true).
  void mark(uint64_t counter);
  // would_accept() then mark(); for callers that have already authenticated the packet.
  [[nodiscard]] bool check_and_update(uint64_t counter);
  void reset();

 private:
  static constexpr uint64_t kWords = kBitsTotal / kWordBits;

  // Highest counter seen plus one; 0 while nothing has been seen.
  uint64_t next_ = 0;
  std::array<uint64_t, kWords> bits_{};
};

}  // namespace tern::noise

#include "wire/checksum.hpp"

#include <bit>
#include <cstring>

namespace tern::wire {
namespace {

// The one's-complement sum does not depend on byte order (RFC 1071 §2(B)): add native
// 64-bit words with end-around carry, fold, and swap the two bytes at the end on
// little-endian hosts. Eight bytes per addition instead of two.
uint64_t add_carry(uint64_t a, uint64_t b) {
  uint64_t r;
  return __builtin_add_overflow(a, b, &r) ? r + 1 : r;
}

uint64_t load64(const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

uint16_t fold64(uint64_t s) {
  s = (s & 0xffffffffu) + (s >> 32);
  s = (s & 0xffffffffu) + (s >> 32);
  s = (s & 0xffffu) + (s >> 16);
  s = (s & 0xffffu) + (s >> 16);
  return static_cast<uint16_t>(s);
}

uint16_t native_sum(const uint8_t* p, size_t n) {
  uint64_t a = 0, b = 0, c = 0, d = 0;
  while (n >= 32) {
    a = add_carry(a, load64(p));
    b = add_carry(b, load64(p + 8));
    c = add_carry(c, load64(p + 16));
    d = add_carry(d, load64(p + 24));
    p += 32;
    n -= 32;
  }
  uint64_t s = add_carry(add_carry(a, b), add_carry(c, d));
  while (n >= 8) {
    s = add_carry(s, load64(p));
    p += 8;
    n -= 8;
  }
  // The tail, zero-padded to a whole word: byte offsets keep their place in the word.
  if (n > 0) {
    uint64_t tail = 0;
    std::memcpy(&tail, p, n);
    s = add_carry(s, tail);
  }
  return fold64(s);
}

}  // namespace

uint64_t checksum_add(Bytes data, uint64_t sum) {
  uint16_t folded = native_sum(data.data(), data.size());
  if constexpr (std::endian::native == std::endian::little) {
    folded = static_cast<uint16_t>((folded >> 8) | (folded << 8));
  }
  return sum + folded;
}

uint16_t checksum_fold(uint64_t sum) {
  return fold64(sum);
}

uint64_t pseudo_header_sum(Bytes source, Bytes destination, uint8_t protocol,
                           uint32_t transport_length) {
  uint64_t sum = checksum_add(source);
  sum = checksum_add(destination, sum);
  return sum + protocol + (transport_length >> 16) + (transport_length & 0xffffu);
}

}  // namespace tern::wire

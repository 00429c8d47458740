#include "wire/tcp_mss.hpp"

#include <optional>

#include "wire/checksum.hpp"
#include "wire/ip_upper_layer.hpp"

namespace tern::wire {
namespace {

inline constexpr uint8_t kFlagSyn = 0x02;
inline constexpr uint8_t kOptionEnd = 0;
inline constexpr uint8_t kOptionNop = 1;
inline constexpr uint8_t kOptionMss = 2;

uint16_t swap16(uint16_t v) {
  return static_cast<uint16_t>((v >> 8) | (v << 8));
}

// Offset of the MSS value inside the TCP header `tcp`, or nullopt (no option, or a
// malformed option list: then the segment is left alone).
std::optional<size_t> find_mss(Bytes tcp, size_t header_length) {
  size_t at = 20;
  while (at < header_length) {
    const uint8_t kind = tcp[at];
    if (kind == kOptionEnd) return std::nullopt;
    if (kind == kOptionNop) {
      ++at;
      continue;
    }
    if (at + 1 >= header_length) return std::nullopt;
    const size_t length = tcp[at + 1];
    if (length < 2 || at + length > header_length) return std::nullopt;
    if (kind == kOptionMss) {
      if (length != 4) return std::nullopt;
      return at + 2;
    }
    at += length;
  }
  return std::nullopt;
}

}  // namespace

uint16_t checksum_update16(uint16_t hc, uint16_t m, uint16_t m2) {
  const uint64_t sum = uint64_t{static_cast<uint16_t>(~hc)} + static_cast<uint16_t>(~m) + m2;
  return static_cast<uint16_t>(~checksum_fold(sum));
}

MssClamp clamp_tcp_mss(MutableBytes packet, uint16_t max_mss, bool checksum_partial) {
  const std::optional<UpperLayer> u = find_upper_layer(packet);
  if (!u || u->protocol != kProtoTcp || !u->first_fragment) return MssClamp::kNotApplicable;
  if (u->total_length - u->offset < 20) return MssClamp::kNotApplicable;
  MutableBytes tcp = packet.subspan(u->offset, u->total_length - u->offset);
  const size_t header_length = size_t{tcp[12]} / 16 * 4;
  if (header_length < 20 || header_length > tcp.size()) return MssClamp::kNotApplicable;
  if ((tcp[13] & kFlagSyn) == 0) return MssClamp::kNotApplicable;

  const std::optional<size_t> at = find_mss(tcp, header_length);
  if (!at) return MssClamp::kUnchanged;
  const uint16_t old_mss = static_cast<uint16_t>((tcp[*at] << 8) | tcp[*at + 1]);
  if (old_mss <= max_mss) return MssClamp::kUnchanged;
  tcp[*at] = static_cast<uint8_t>(max_mss >> 8);
  tcp[*at + 1] = static_cast<uint8_t>(max_mss);
  if (!checksum_partial) {
    // A value at an odd offset straddles two summed words; one's-complement sums are
    // byte-order independent (RFC 1071 §2(B)), so it counts byte-swapped.
    const bool odd = (*at % 2) != 0;
    const uint16_t m = odd ? swap16(old_mss) : old_mss;
    const uint16_t m2 = odd ? swap16(max_mss) : max_mss;
    const uint16_t hc = static_cast<uint16_t>((tcp[16] << 8) | tcp[17]);
    const uint16_t updated = checksum_update16(hc, m, m2);
    tcp[16] = static_cast<uint8_t>(updated >> 8);
    tcp[17] = static_cast<uint8_t>(updated);
  }
  return MssClamp::kClamped;
}

}  // namespace tern::wire

#include "wire/ipv4_fragment.hpp"

#include <algorithm>
#include <array>
#include <cstring>
#include <optional>

#include "wire/checksum.hpp"

namespace tern::wire {
namespace {

inline constexpr size_t kHeader = 20;
inline constexpr uint16_t kDontFragment = 0x4000;
inline constexpr uint16_t kMoreFragments = 0x2000;
inline constexpr uint16_t kOffsetMask = 0x1fff;
inline constexpr uint8_t kOptionEnd = 0;
inline constexpr uint8_t kOptionNop = 1;
inline constexpr uint8_t kOptionCopied = 0x80;

uint16_t be16(Bytes p, size_t at) {
  return static_cast<uint16_t>((p[at] << 8) | p[at + 1]);
}

void put16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}

struct Plan {
  size_t first_header = 0;  // the original header, all options
  size_t other_header = 0;  // 20 + the copied options, padded to 4
  std::array<uint8_t, 40> copied{};
  size_t first_data = 0;  // data bytes per fragment, multiples of 8
  size_t other_data = 0;
  size_t data_length = 0;
  size_t count = 0;
};

// Options with the copied flag, in order, padded with End of Option List to a multiple of
// 4; nullopt when the option list is malformed.
std::optional<size_t> copied_options(Bytes options, std::array<uint8_t, 40>& out) {
  size_t n = 0;
  size_t at = 0;
  while (at < options.size()) {
    const uint8_t type = options[at];
    if (type == kOptionEnd) break;
    if (type == kOptionNop) {
      ++at;
      continue;
    }
    if (at + 1 >= options.size()) return std::nullopt;
    const size_t length = options[at + 1];
    if (length < 2 || at + length > options.size()) return std::nullopt;
    if (type & kOptionCopied) {
      std::copy_n(options.begin() + static_cast<ptrdiff_t>(at), length,
                  out.begin() + static_cast<ptrdiff_t>(n));
      n += length;
    }
    at += length;
  }
  const size_t padded = (n + 3) / 4 * 4;
  std::fill(out.begin() + static_cast<ptrdiff_t>(n), out.begin() + static_cast<ptrdiff_t>(padded),
            kOptionEnd);
  return padded;
}

std::optional<Plan> plan(Bytes p, size_t mtu) {
  if (p.size() < kHeader || (p[0] >> 4) != 4) return std::nullopt;
  Plan pl;
  pl.first_header = size_t{p[0] & 0x0fu} * 4;
  const size_t total = be16(p, 2);
  if (pl.first_header < kHeader || total < pl.first_header || total > p.size()) return std::nullopt;
  if ((be16(p, 6) & kDontFragment) || total <= mtu) return std::nullopt;
  const auto copied = copied_options(p.subspan(kHeader, pl.first_header - kHeader), pl.copied);
  if (!copied) return std::nullopt;
  pl.other_header = kHeader + *copied;
  if (mtu < pl.first_header + 8) return std::nullopt;
  pl.first_data = (mtu - pl.first_header) / 8 * 8;
  pl.other_data = (mtu - pl.other_header) / 8 * 8;
  pl.data_length = total - pl.first_header;
  const size_t rest = pl.data_length - std::min(pl.data_length, pl.first_data);
  pl.count = 1 + (rest + pl.other_data - 1) / pl.other_data;
  // The last fragment's offset must fit the 13-bit field.
  const size_t last_offset = (pl.first_data + (pl.count - 2) * pl.other_data) / 8;
  if (static_cast<size_t>(be16(p, 6) & kOffsetMask) + last_offset > kOffsetMask)
    return std::nullopt;
  return pl;
}

}  // namespace

size_t ipv4_fragment_count(Bytes packet, size_t mtu) {
  const auto pl = plan(packet, mtu);
  return pl ? pl->count : 0;
}

size_t fragment_ipv4(Bytes p, size_t mtu, MutableBytes out, std::span<size_t> sizes) {
  const auto pl = plan(p, mtu);
  if (!pl || sizes.size() < pl->count) return 0;
  const uint16_t frag = be16(p, 6);
  const size_t base_offset = frag & kOffsetMask;
  const bool original_more = (frag & kMoreFragments) != 0;
  const uint16_t reserved = frag & 0x8000;
  Bytes data = p.subspan(pl->first_header, pl->data_length);

  size_t written = 0;
  size_t position = 0;  // data bytes already placed
  for (size_t i = 0; i < pl->count; ++i) {
    const bool first = i == 0;
    const size_t header = first ? pl->first_header : pl->other_header;
    const size_t chunk = std::min(data.size() - position, first ? pl->first_data : pl->other_data);
    const size_t length = header + chunk;
    if (out.size() - written < length) return 0;
    uint8_t* f = out.data() + written;
    std::memcpy(f, p.data(), kHeader);
    if (first) {
      std::memcpy(f + kHeader, p.data() + kHeader, header - kHeader);
    } else {
      std::memcpy(f + kHeader, pl->copied.data(), header - kHeader);
    }
    f[0] = static_cast<uint8_t>(0x40 | (header / 4));
    put16(f + 2, static_cast<uint16_t>(length));
    const bool more = position + chunk < data.size() || original_more;
    put16(f + 6, static_cast<uint16_t>(reserved | (more ? kMoreFragments : 0) |
                                       (base_offset + position / 8)));
    put16(f + 10, 0);
    put16(f + 10, checksum_finish(checksum_add(Bytes(f, header))));
    std::memcpy(f + header, data.data() + position, chunk);
    sizes[i] = length;
    written += length;
    position += chunk;
  }
  return pl->count;
}

}  // namespace tern::wire

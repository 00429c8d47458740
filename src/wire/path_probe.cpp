#include "wire/path_probe.hpp"

#include <algorithm>

namespace tern::wire {
namespace {

inline constexpr uint8_t kFamilyNone = 0;
inline constexpr uint8_t kFamilyV4 = 4;
inline constexpr uint8_t kFamilyV6 = 6;
inline constexpr size_t kAddressFieldSize = 16;

template <size_t N>
bool read_into(ByteReader& r, std::array<uint8_t, N>& out) {
  auto b = r.take(N);
  if (!b) return false;
  std::copy(b->begin(), b->end(), out.begin());
  return true;
}

bool all_zero(Bytes b) {
  return std::all_of(b.begin(), b.end(), [](uint8_t v) { return v == 0; });
}

}  // namespace

bool is_path_probe(Bytes d) {
  return d.size() >= kPathProbeMagic.size() &&
         std::equal(kPathProbeMagic.begin(), kPathProbeMagic.end(), d.begin());
}

std::optional<PathProbeView> parse_path_probe(Bytes d) {
  if (!is_path_probe(d) || d.size() < kPathProbeMinSize || d.size() > kPathProbeMaxSize) {
    return std::nullopt;
  }
  ByteReader r(d);
  (void)r.take(kPathProbeMagic.size());
  const auto version = r.u8();
  const auto type = r.u8();
  const auto flags = r.u16_be();
  if (version != kPathProbeVersion || !type || !flags) return std::nullopt;
  if (*type != static_cast<uint8_t>(ProbeType::kPing) &&
      *type != static_cast<uint8_t>(ProbeType::kPong)) {
    return std::nullopt;
  }
  PathProbeView v;
  v.header.type = static_cast<ProbeType>(*type);
  v.header.flags = *flags;
  if (!read_into(r, v.header.sender_hint) || !read_into(r, v.header.nonce)) return std::nullopt;
  v.header_bytes = d.first(kPathProbeHeaderSize);
  v.sealed = r.rest();
  return v;
}

size_t serialize_path_probe_header(const PathProbeHeader& h, MutableBytes out) {
  ByteWriter w(out);
  w.bytes(kPathProbeMagic);
  w.u8(kPathProbeVersion);
  w.u8(static_cast<uint8_t>(h.type));
  w.u16_be(h.flags);
  w.bytes(h.sender_hint);
  w.bytes(h.nonce);
  return w.ok() ? w.size() : 0;
}

std::optional<PathProbeBody> parse_path_probe_body(Bytes plaintext) {
  ByteReader r(plaintext);
  PathProbeBody b;
  if (!read_into(r, b.tx_id)) return std::nullopt;
  const auto overlay_mtu = r.u16_be();
  const auto answered = r.u16_be();
  const auto family = r.u8();
  const auto reserved = r.u8();
  const auto port = r.u16_be();
  const auto address = r.take(kAddressFieldSize);
  if (!overlay_mtu || !answered || !family || !reserved || !port || !address) return std::nullopt;
  if (*reserved != 0) return std::nullopt;
  b.overlay_mtu = *overlay_mtu;
  b.answered_size = *answered;
  switch (*family) {
    case kFamilyNone:
      if (*port != 0 || !all_zero(*address)) return std::nullopt;
      break;
    case kFamilyV4: {
      if (!all_zero(address->subspan(4))) return std::nullopt;
      std::array<uint8_t, 4> a{};
      std::copy_n(address->begin(), 4, a.begin());
      b.observed = Endpoint{IpAddress::v4(a), *port};
      break;
    }
    case kFamilyV6: {
      std::array<uint8_t, 16> a{};
      std::copy_n(address->begin(), 16, a.begin());
      b.observed = Endpoint{IpAddress::v6(a), *port};
      break;
    }
    default:
      return std::nullopt;
  }
  return b;
}

size_t serialize_path_probe_body(const PathProbeBody& b, MutableBytes out) {
  ByteWriter w(out);
  w.bytes(b.tx_id);
  w.u16_be(b.overlay_mtu);
  w.u16_be(b.answered_size);
  if (!b.observed) {
    w.zeros(4 + kAddressFieldSize);
  } else {
    const IpAddress& a = b.observed->address;
    w.u8(a.is_v4() ? kFamilyV4 : kFamilyV6);
    w.u8(0);
    w.u16_be(b.observed->port);
    w.bytes(Bytes(a.data(), a.size()));
    w.zeros(kAddressFieldSize - a.size());
  }
  return w.ok() ? w.size() : 0;
}

}  // namespace tern::wire

#include "doctor/relay_probe.hpp"

#include <array>
#include <string_view>

#include "base/bytes.hpp"

namespace tern::doctor {
namespace {

constexpr std::array<uint8_t, 4> kMagic = {'t', 'd', 'r', '1'};

void put_u64(uint8_t* p, uint64_t v) {
  for (int i = 7; i >= 0; --i) {
    p[i] = static_cast<uint8_t>(v & 0xFF);
    v >>= 8;
  }
}
uint64_t get_u64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i)
    v = (v << 8) | p[i];
  return v;
}

}  // namespace

void write_probe(const Probe& p, MutableBytes out) {
  if (out.size() < kProbeHeaderSize) return;
  for (size_t i = 0; i < 4; ++i)
    out[i] = kMagic[i];
  out[4] = static_cast<uint8_t>(p.kind);
  out[5] = out[6] = out[7] = 0;
  put_u64(out.data() + 8, p.sequence);
  put_u64(out.data() + 16, static_cast<uint64_t>(to_ns(p.sent)));
  for (size_t i = kProbeHeaderSize; i < out.size(); ++i)
    out[i] = static_cast<uint8_t>(i & 0xFF);
}

std::optional<Probe> read_probe(Bytes data) {
  if (data.size() < kProbeHeaderSize) return std::nullopt;
  for (size_t i = 0; i < 4; ++i) {
    if (data[i] != kMagic[i]) return std::nullopt;
  }
  if (data[4] != static_cast<uint8_t>(ProbeKind::kRtt) &&
      data[4] != static_cast<uint8_t>(ProbeKind::kSize)) {
    return std::nullopt;
  }
  if (data[5] != 0 || data[6] != 0 || data[7] != 0) return std::nullopt;
  for (size_t i = kProbeHeaderSize; i < data.size(); ++i) {
    if (data[i] != static_cast<uint8_t>(i & 0xFF)) return std::nullopt;
  }
  Probe p;
  p.kind = static_cast<ProbeKind>(data[4]);
  p.sequence = get_u64(data.data() + 8);
  p.sent = instant_from_ns(static_cast<int64_t>(get_u64(data.data() + 16)));
  return p;
}

bool is_non_public(const IpAddress& a) {
  static constexpr std::string_view kRanges[] = {
      "0.0.0.0/8",      "10.0.0.0/8",    "100.64.0.0/10",  "127.0.0.0/8",
      "169.254.0.0/16", "172.16.0.0/12", "192.168.0.0/16", "::1/128",
      "::/128",         "fc00::/7",      "fe80::/10"};
  for (auto r : kRanges) {
    auto prefix = IpPrefix::parse(r);
    if (prefix && prefix->contains(a)) return true;
  }
  return false;
}

}  // namespace tern::doctor
